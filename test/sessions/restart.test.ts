import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeImage } from '../helpers/images.ts';
import { startTestServer } from '../helpers/recon.ts';
import { openSocket } from './socket.ts';

test('a session and its images survive a server restart; the client reconnects and continues', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recon-session-restart-'));
  try {
    const first = await startTestServer('pglite', {}, { dataDir });
    const id = (await first.json('/ws/session/create?engine=test', { method: 'POST' })).body.session_id;
    const before = await openSocket(first, id);
    await before.next('connected');
    before.send({ type: 'image', data: (await makeImage(1)).toString('base64'), filename: 'first.jpg' });
    await before.next('ack');
    await first.close();
    await before.closed; // @fastify/websocket closes it (1005, no status) when the server stops

    const second = await startTestServer('pglite', {}, { dataDir });
    try {
      const after = await openSocket(second, id);
      assert.equal((await after.next('connected')).image_count, 1);
      after.send({ type: 'image', data: (await makeImage(2)).toString('base64'), filename: 'second.jpg' });
      assert.equal((await after.next('ack')).image_count, 2);
      after.send({ type: 'finalize' });
      const complete = await after.next('complete');
      assert.deepEqual(complete.metadata.image_names, ['first.jpg', 'second.jpg']);
      await after.close();
    } finally {
      await second.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
