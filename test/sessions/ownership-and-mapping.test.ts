import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { LocalBlobStore } from '../../src/blobs/local-blob-store.ts';
import { PredictionsService } from '../../src/core/predictions-service.ts';
import { RunEventFeed } from '../../src/core/run-event-feed.ts';
import { RunEventHub } from '../../src/core/run-event-hub.ts';
import type { RunEvent } from '../../src/domain/run-event.ts';
import { RunEventsRepository } from '../../src/db/run-events-repository.ts';
import { SessionsRepository } from '../../src/db/sessions-repository.ts';
import { parseClientMessage } from '../../src/contract/session-messages.ts';
import { progressFromRunEvent } from '../../src/sessions/progress-map.ts';
import { createSessionQuery } from '../../src/contract/sessions.ts';
import { SessionsService } from '../../src/sessions/sessions-service.ts';
import { makeImage } from '../helpers/images.ts';
import { startTestServer, type TestServer } from '../helpers/recon.ts';

describe('session ownership (per API key)', () => {
  let server: TestServer;
  let sessions: SessionsService;
  before(async () => {
    server = await startTestServer('pglite');
    const { recon } = server;
    const blobs = new LocalBlobStore(join(server.dataDir, 'runs'));
    sessions = new SessionsService({
      repo: new SessionsRepository(recon.store.db),
      runs: recon.runs,
      predictions: new PredictionsService(recon.runs, blobs),
      feed: new RunEventFeed({ events: new RunEventsRepository(recon.store.db), hub: new RunEventHub(), runExists: async () => true }),
      blobs,
      engines: recon.engines,
      dataDir: server.dataDir,
      limits: recon.config.sessions,
      log: pino({ level: 'silent' }),
    });
  });
  after(() => server?.close());

  test("another key's session is 404 for every operation; without auth (owner null) all are visible", async () => {
    const mine = await sessions.create(createSessionQuery.parse({ engine: 'test' }), 'key-a');
    const id = mine.session_id;
    const image = { data: (await makeImage(1)).toString('base64') };
    assert.equal((await sessions.addImage(id, 'key-a', image)).image_count, 1);
    for (const attempt of [
      () => sessions.get(id, 'key-b'),
      () => sessions.addImage(id, 'key-b', image),
      () => sessions.generate(id, 'key-b', true),
      () => sessions.finalize(id, 'key-b'),
      () => sessions.delete(id, 'key-b'),
    ]) {
      await assert.rejects(attempt, (error: { status?: number }) => error.status === 404);
    }
    assert.equal((await sessions.list('key-b')).sessions.length, 0);
    assert.equal((await sessions.list('key-a')).stats.total_sessions, 1);
    assert.equal((await sessions.get(id, null)).image_count, 1, 'no auth: no owner filter');
    await sessions.delete(id, 'key-a');
  });
});

describe('session protocol helpers', () => {
  const event = (type: RunEvent['type'], data: Record<string, unknown>): RunEvent => ({ id: 1, runId: 'r', at: '', type, data });

  test('run events map to the four session stages', () => {
    assert.equal(progressFromRunEvent(event('status', { status: 'processing', stage: 'waiting', message: 'w' }))?.stage, 'loading_model');
    assert.equal(progressFromRunEvent(event('status', { status: 'processing', stage: 'starting' }))?.stage, 'loading_model');
    assert.deepEqual(progressFromRunEvent(event('progress', { stage: 'matching', progress: 0.5, message: 'pairs' })), {
      stage: 'inference',
      progress: 0.45,
      message: 'matching: pairs',
    });
    assert.equal(progressFromRunEvent(event('progress', { stage: 'exporting', progress: 1 }))?.progress, 0.9);
    assert.equal(progressFromRunEvent(event('status', { status: 'fetching', stage: 'fetching' }))?.stage, 'exporting');
    assert.equal(progressFromRunEvent(event('retry', { error: 'busy' }))?.stage, 'loading_model');
    assert.equal(progressFromRunEvent(event('status', { status: 'completed' })), undefined);
    assert.equal(progressFromRunEvent(event('status', { status: 'queued' })), undefined);
    assert.equal(progressFromRunEvent(event('log', { lines: ['x'] })), undefined);
  });

  test('client messages: valid ones parse; each kind of bad one has its reason', () => {
    assert.deepEqual(parseClientMessage('{"type":"generate"}'), { ok: true, message: { type: 'generate', incremental: false } });
    assert.deepEqual(parseClientMessage('{"type":"ping","extra":1}'), { ok: true, message: { type: 'ping' } });
    const reasons = ['{', '"ping"', '{"type":"nope"}', '{"type":"image","data":""}', '{"type":"image","data":"x","filename":5}'].map(
      (text) => {
        const parsed = parseClientMessage(text);
        assert.equal(parsed.ok, false, text);
        return (parsed as { error: string }).error;
      },
    );
    assert.match(reasons[0]!, /not valid JSON/);
    assert.match(reasons[1]!, /JSON object/);
    assert.match(reasons[2]!, /Unknown message type "nope"/);
    assert.match(reasons[3]!, /data: image data is empty/);
    assert.match(reasons[4]!, /filename/);
  });
});
