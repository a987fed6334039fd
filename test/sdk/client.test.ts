import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  NodeReconClient,
  ReconApiError,
  ReconConnectionError,
  type RunStreamEvent,
  type UploadItem,
  type UploadProgress,
} from '../../src/sdk/node.ts';
import { makeImage } from '../helpers/images.ts';
import { startTestServer, type TestServer } from '../helpers/recon.ts';
import { startProxy } from './proxy.ts';

let server: TestServer;
let client: NodeReconClient;
let images: UploadItem[];

before(async () => {
  server = await startTestServer('pglite');
  client = new NodeReconClient(server.url);
  images = await Promise.all([0, 1, 2].map(async (i) => ({ name: `img-${i}.jpg`, data: new Blob([await makeImage(i, 'jpeg', 64)]) })));
});
after(() => server.close());

async function queuedRun(c: NodeReconClient, settings: Record<string, unknown> = {}) {
  const run = await c.createRun({ engine: 'test', settings });
  await c.uploadImages(run.runId, images);
  await c.process(run.runId);
  return run.runId;
}

/** Every event of a finished run, straight from the server. */
async function allEvents(runId: string) {
  const events: RunStreamEvent[] = [];
  for await (const event of client.events(runId)) events.push(event);
  return events;
}

describe('SDK workflow', () => {
  test('create, upload with progress, process, wait, download, list, rerun, delete', async () => {
    assert.equal((await client.health()).status, 'ok');
    const engines = await client.engines();
    assert.ok(engines.engines.some((e) => e.id === 'test' && e.available));

    const run = await client.createRun({ engine: 'test', settings: { steps: 3, stepMs: 20 } });
    assert.equal(run.status, 'queued');
    const progress: UploadProgress[] = [];
    const uploaded = await client.uploadImages(run.runId, images, { onProgress: (p) => progress.push({ ...p }) });
    assert.equal(uploaded.imagesUploaded, 3);
    assert.deepEqual(uploaded.images, ['img-0.jpg', 'img-1.jpg', 'img-2.jpg']);
    assert.ok(progress.length >= 3, 'progress reported per chunk');
    const last = progress.at(-1)!;
    assert.equal(last.loaded, last.total);
    assert.equal(last.filesDone, 3);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i]!.loaded >= progress[i - 1]!.loaded);

    const queued = await client.process(run.runId);
    assert.equal(queued.status, 'processing');
    const events: RunStreamEvent[] = [];
    const final = await client.wait(run.runId, { onEvent: (e) => events.push(e) });
    assert.equal(final.status, 'completed');
    assert.ok(final.artifacts.glb && final.artifacts.predictions);
    const types = new Set(events.map((e) => e.type));
    for (const type of ['status', 'progress', 'log'] as const) assert.ok(types.has(type), `saw ${type} events`);
    assert.deepEqual(
      events.map((e) => e.id),
      events.map((_, i) => i + 1),
      'every event once, in order',
    );
    const lastEvent = events.at(-1);
    assert.equal(lastEvent?.type === 'status' && lastEvent.status, 'completed');

    const glb = await client.download(run.runId, 'glb');
    assert.equal(Buffer.from(await glb.slice(0, 4).arrayBuffer()).toString(), 'glTF');
    const dir = await mkdtemp(join(tmpdir(), 'recon-sdk-'));
    try {
      const saved = await client.downloadTo(run.runId, 'predictions', `${dir}/`);
      assert.equal(saved.path, join(dir, `${run.runId}-predictions.npz`));
      const bytes = await readFile(saved.path);
      assert.equal(bytes.length, saved.bytes);
      assert.equal(bytes.subarray(0, 2).toString(), 'PK');
      const named = await client.downloadTo(run.runId, 'glb', join(dir, 'scene.glb'));
      assert.equal((await readFile(named.path)).length, glb.size);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    assert.equal((await client.predictionsMetadata(run.runId)).numCameras, 3);
    assert.equal((await client.cameras(run.runId)).cameras.length, 3);

    const listed = await client.list({ status: 'completed', engine: 'test', limit: 50 });
    assert.ok(listed.runs.some((r) => r.runId === run.runId));
    assert.ok(listed.runs.every((r) => r.status === 'completed' && r.engine === 'test'));
    assert.equal((await client.list({ status: ['failed', 'canceled'] })).runs.filter((r) => r.runId === run.runId).length, 0);

    const child = await client.rerun(run.runId, { settings: { steps: 1 } });
    assert.equal(child.parentRunId, run.runId);
    assert.equal(child.settings.steps, 1);
    assert.equal(child.settings.stepMs, 20, 'settings merged over the parent');
    assert.equal((await client.wait(child.runId)).status, 'completed');
    await client.delete(child.runId);
    await assert.rejects(client.get(child.runId), (e: unknown) => e instanceof ReconApiError && e.status === 404);
  });

  test('submit + cancel: a slow run is canceled and wait returns it', async () => {
    const run = await client.submit({ engine: 'test', settings: { steps: 200, stepMs: 50 }, files: images });
    assert.equal(run.status, 'processing');
    const waiting = client.wait(run.runId);
    const canceled = await client.cancel(run.runId);
    assert.equal(canceled.status, 'canceled');
    assert.equal((await waiting).status, 'canceled');
  });

  test('a failing run: wait returns it failed with the error and hint', async () => {
    const runId = await queuedRun(client, { failWith: 'permanent', steps: 2, stepMs: 10 });
    const final = await client.wait(runId);
    assert.equal(final.status, 'failed');
    assert.match(final.error ?? '', /simulated permanent failure/);
    assert.match(final.errorHint ?? '', /failWith/);
  });
});

describe('SDK errors carry the problem details', () => {
  test('404 unknown run', async () => {
    const error = await client.get('run_1700000000000_abcdefgh').catch((e: unknown) => e);
    assert.ok(error instanceof ReconApiError);
    assert.equal(error.status, 404);
    assert.equal(error.title, 'Not Found');
    assert.match(error.detail, /run_1700000000000_abcdefgh/);
    assert.equal(error.message, error.detail);
    assert.equal(error.method, 'GET');
    assert.equal(error.problem.status, 404);
  });

  test('409 with extra members, 422 without images, 400 with field errors, 415 for a non-image', async () => {
    const empty = await client.createRun({ engine: 'test' });
    const unprocessable = await client.process(empty.runId).catch((e: unknown) => e);
    assert.ok(unprocessable instanceof ReconApiError);
    assert.equal(unprocessable.status, 422);
    assert.match(unprocessable.detail, /no images/);

    const runId = await queuedRun(client, { steps: 1, stepMs: 0 });
    await client.wait(runId);
    const conflict = await client.cancel(runId).catch((e: unknown) => e);
    assert.ok(conflict instanceof ReconApiError);
    assert.equal(conflict.status, 409);
    assert.equal(conflict.extra.runStatus, 'completed');
    assert.equal(conflict.problem.runStatus, 'completed');

    const invalid = await client.createRun({ engine: 'test', settings: { steps: 'many' } }).catch((e: unknown) => e);
    assert.ok(invalid instanceof ReconApiError);
    assert.equal(invalid.status, 400);
    assert.match(invalid.detail, /Invalid settings/);
    assert.deepEqual((invalid.extra.errors as { path: string }[]).map((e) => e.path), ['steps']);

    const notImage = await client
      .uploadImages(empty.runId, [{ name: 'notes.txt', data: new Blob(['just text, not a photo'.repeat(100)]) }])
      .catch((e: unknown) => e);
    assert.ok(notImage instanceof ReconApiError);
    assert.equal(notImage.status, 415);
    assert.match(notImage.detail, /notes\.txt/);
  });

  test('an unreachable server is a ReconConnectionError', async () => {
    const nobody = new NodeReconClient('http://127.0.0.1:9');
    await assert.rejects(nobody.health(), (e: unknown) => e instanceof ReconConnectionError && /127\.0\.0\.1:9/.test(e.message));
  });
});

describe('SDK wait survives bad networks', () => {
  test('resumes with Last-Event-ID after the server drops the stream: no event lost or repeated', async () => {
    let streams = 0;
    const proxy = await startProxy(server.url, (req, res, forward) => {
      if (!req.url?.includes('/stream')) return false;
      if (++streams > 2) return false;
      // The first two stream connections are cut after their first event.
      forward((chunk) => {
        if (chunk.includes('id: ')) res.destroy();
      });
      return true;
    });
    try {
      const viaProxy = new NodeReconClient(proxy.url);
      const runId = await queuedRun(viaProxy, { steps: 6, stepMs: 40 });
      const seen: RunStreamEvent[] = [];
      const final = await viaProxy.wait(runId, { onEvent: (e) => seen.push(e), retryDelayMs: 20 });
      assert.equal(final.status, 'completed');
      const expected = await allEvents(runId);
      assert.deepEqual(
        seen.map((e) => e.id),
        expected.map((e) => e.id),
      );
      const streamRequests = proxy.requests.filter((r) => r.url.includes('/stream'));
      assert.ok(streamRequests.length >= 3, `reconnected (${streamRequests.length} stream requests)`);
      assert.equal(streamRequests[0]!.lastEventId, undefined);
      assert.ok(Number(streamRequests[1]!.lastEventId) >= 1, 'the second connection resumes after what the first delivered');
    } finally {
      await proxy.close();
    }
  });

  test('a silent connection is dropped and resumed', async () => {
    let streams = 0;
    const proxy = await startProxy(server.url, (req, res) => {
      if (!req.url?.includes('/stream') || ++streams > 1) return false;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hello\n\n'); // then nothing, not even heartbeats
      return true;
    });
    try {
      const viaProxy = new NodeReconClient(proxy.url);
      const runId = await queuedRun(viaProxy, { steps: 2, stepMs: 10 });
      const seen: RunStreamEvent[] = [];
      const final = await viaProxy.wait(runId, { onEvent: (e) => seen.push(e), idleTimeoutMs: 300, retryDelayMs: 20 });
      assert.equal(final.status, 'completed');
      assert.deepEqual(
        seen.map((e) => e.id),
        (await allEvents(runId)).map((e) => e.id),
      );
      assert.ok(streams >= 2);
    } finally {
      await proxy.close();
    }
  });

  test('falls back to polling when the stream is refused (a proxy without SSE)', async () => {
    const proxy = await startProxy(server.url, (req, res) => {
      if (!req.url?.includes('/stream')) return false;
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>502 Bad Gateway</h1>');
      return true;
    });
    try {
      const viaProxy = new NodeReconClient(proxy.url);
      const runId = await queuedRun(viaProxy, { steps: 4, stepMs: 60 });
      const seen: RunStreamEvent[] = [];
      let fallback: Error | undefined;
      const final = await viaProxy.wait(runId, {
        onEvent: (e) => seen.push(e),
        onFallback: (e) => {
          fallback = e;
        },
        retryDelayMs: 10,
        maxFailures: 2,
        pollIntervalMs: 20,
      });
      assert.equal(final.status, 'completed');
      assert.match(fallback?.message ?? '', /HTTP 502/);
      assert.ok(seen.length >= 2 && seen.every((e) => e.polled));
      const lastEvent = seen.at(-1);
      assert.equal(lastEvent?.type === 'status' && lastEvent.status, 'completed');
      assert.ok(proxy.requests.filter((r) => r.url === `/api/runs/${runId}`).length >= 2, 'polled GET /api/runs/:id');
    } finally {
      await proxy.close();
    }
  });

  test('falls back to polling when the stream answers something that is not SSE', async () => {
    const proxy = await startProxy(server.url, (req, res) => {
      if (!req.url?.includes('/stream')) return false;
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login page</html>');
      return true;
    });
    try {
      const viaProxy = new NodeReconClient(proxy.url);
      const runId = await queuedRun(viaProxy, { steps: 1, stepMs: 10 });
      const final = await viaProxy.wait(runId, { pollIntervalMs: 20 });
      assert.equal(final.status, 'completed');
    } finally {
      await proxy.close();
    }
  });

  test('stream: false polls only', async () => {
    const runId = await queuedRun(client, { steps: 2, stepMs: 20 });
    const seen: RunStreamEvent[] = [];
    const final = await client.wait(runId, { stream: false, pollIntervalMs: 20, onEvent: (e) => seen.push(e) });
    assert.equal(final.status, 'completed');
    assert.ok(seen.every((e) => e.polled));
  });
});
