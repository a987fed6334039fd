import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeImage, multipart } from '../helpers/images.ts';
import { jsonBody, STORE_MODES, startTestServer, type TestServer } from '../helpers/recon.ts';
import { waitForStatus } from '../helpers/runs.ts';

for (const mode of STORE_MODES) {
  describe(`runs API (${mode})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(mode);
    });
    after(() => server?.close());

    const createRun = async (body: unknown = { engine: 'test', settings: { stepMs: 5 } }) => {
      const { status, body: run } = await server.json('/api/runs', jsonBody(body));
      assert.equal(status, 201, JSON.stringify(run));
      return run.runId as string;
    };
    const upload = (runId: string, files: { name: string; data: Buffer; type?: string }[]) =>
      server.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart(files) });

    test('the seed workflow: create → upload 3 images → process → poll → download', async () => {
      const created = await server.json('/api/runs', jsonBody({ engine: 'test', settings: { confThreshold: 45, stepMs: 5 } }));
      assert.equal(created.status, 201);
      assert.equal(created.body.status, 'queued');
      assert.match(created.body.runId, /^run_\d+_[a-z0-9]+$/);
      assert.equal(created.body.settings.confThreshold, 45);
      assert.equal(created.body.settings.showCameras, true, 'defaults filled in');
      const runId = created.body.runId;

      const images = await Promise.all([2, 0, 1].map(async (i) => ({ name: `img${i}.jpg`, data: await makeImage(i) })));
      const uploaded = await upload(runId, images);
      assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
      assert.equal(uploaded.body.imagesUploaded, 3);
      assert.deepEqual(uploaded.body.images, ['img0.jpg', 'img1.jpg', 'img2.jpg'], 'sorted');

      const polled = await server.json(`/api/runs/${runId}`);
      assert.equal(polled.body.status, 'uploading');

      const processing = await server.json(`/api/runs/${runId}/process`, { method: 'POST' });
      assert.equal(processing.status, 202);
      assert.equal(processing.body.status, 'processing');
      // Its place while it waits; null once a worker has it, which NOTIFY can make before this answer.
      const position = processing.body.queuePosition;
      assert.ok(position === null || (Number.isInteger(position) && position >= 1), `queuePosition ${position}`);

      const run = await waitForStatus(server, runId, ['completed', 'failed']);
      assert.equal(run.status, 'completed', run.error);
      assert.equal(run.progress, 1);
      assert.ok(run.startedAt && run.finishedAt);
      assert.deepEqual(Object.keys(run.artifacts).sort(), ['glb', 'predictions', 'preview']);
      assert.equal(run.artifacts.glb, `/api/runs/${runId}/artifacts/glb`);

      const glb = await server.fetch(run.artifacts.glb);
      assert.equal(glb.status, 200);
      assert.equal(glb.headers.get('content-type'), 'model/gltf-binary');
      assert.match(glb.headers.get('content-disposition') ?? '', /attachment; filename=".*scene\.glb"/);
      const bytes = Buffer.from(await glb.arrayBuffer());
      assert.equal(bytes.subarray(0, 4).toString(), 'glTF');
      assert.equal(Number(glb.headers.get('content-length')), bytes.length);

      // The manifest follows the database: the worker rewrites it just after recording the outcome.
      const readManifest = async () => JSON.parse(await readFile(join(server.dataDir, 'runs', runId, 'metadata.json'), 'utf8'));
      let manifest = await readManifest();
      for (let i = 0; i < 100 && manifest.status !== 'completed'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        manifest = await readManifest();
      }
      assert.equal(manifest.status, 'completed');
      assert.deepEqual(manifest.images, ['img0.jpg', 'img1.jpg', 'img2.jpg']);
      const stored = await readdir(join(server.dataDir, 'runs', runId, 'images'));
      assert.deepEqual(stored.sort(), ['img0.jpg', 'img1.jpg', 'img2.jpg']);
    });

    test('artifact downloads honour Range and If-None-Match', async () => {
      const runId = await createRun();
      await upload(runId, [{ name: 'a.png', data: await makeImage(1, 'png') }]);
      await server.fetch(`/api/runs/${runId}/process`, { method: 'POST' });
      await waitForStatus(server, runId, ['completed']);
      const full = Buffer.from(await (await server.fetch(`/api/runs/${runId}/artifacts/predictions`)).arrayBuffer());
      const partial = await server.fetch(`/api/runs/${runId}/artifacts/predictions`, { headers: { range: 'bytes=10-19' } });
      assert.equal(partial.status, 206);
      assert.equal(partial.headers.get('content-range'), `bytes 10-19/${full.length}`);
      assert.deepEqual(Buffer.from(await partial.arrayBuffer()), full.subarray(10, 20));
      const suffix = await server.fetch(`/api/runs/${runId}/artifacts/predictions`, { headers: { range: 'bytes=-5' } });
      assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), full.subarray(full.length - 5));
      const etag = partial.headers.get('etag')!;
      const cached = await server.fetch(`/api/runs/${runId}/artifacts/predictions`, { headers: { 'if-none-match': etag } });
      assert.equal(cached.status, 304);
      const outside = await server.fetch(`/api/runs/${runId}/artifacts/predictions`, { headers: { range: `bytes=${full.length}-` } });
      assert.equal(outside.status, 416);
      assert.equal(outside.headers.get('content-range'), `bytes */${full.length}`);
      const missing = await server.json(`/api/runs/${runId}/artifacts/colmap`);
      assert.equal(missing.status, 404);
      const unknownType = await server.json(`/api/runs/${runId}/artifacts/secrets`);
      assert.equal(unknownType.status, 400);
    });

    test('SSE stream replays every event and resumes from Last-Event-ID without gaps or repeats', async () => {
      const runId = await createRun({ engine: 'test', settings: { steps: 6, stepMs: 30 } });
      await upload(runId, [{ name: 'a.jpg', data: await makeImage(1) }]);
      await server.fetch(`/api/runs/${runId}/process`, { method: 'POST' });
      const first = await readSse(server, runId, {}, 3);
      assert.equal(first.length, 3);
      const rest = await readSse(server, runId, { 'last-event-id': String(first.at(-1)!.id) });
      const all = [...first, ...rest];
      const ids = all.map((e) => e.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'in order');
      assert.equal(new Set(ids).size, ids.length, 'no repeats');
      const replay = await readSse(server, runId, {});
      assert.deepEqual(replay.map((e) => e.id), ids, 'a fresh stream replays the same events: nothing was skipped');
      assert.equal(all.at(-1)!.data.type, 'status');
      assert.equal(all.at(-1)!.data.status, 'completed');
      assert.ok(all.some((e) => e.data.type === 'progress' && e.data.stage === 'inference'));
      assert.ok(all.some((e) => e.data.type === 'log'));
      const done = await server.fetch(`/api/runs/${runId}/stream`, { headers: { 'last-event-id': String(ids.at(-1)) } });
      assert.equal(done.status, 204, 'nothing left to send for a finished run');
    });

    test('transient failures are retried with backoff, visibly; permanent ones fail at once', async () => {
      const retried = await createRun({ engine: 'test', settings: { stepMs: 1, failWith: 'transient', failAttempts: 2 } });
      await upload(retried, [{ name: 'a.jpg', data: await makeImage(1) }]);
      await server.fetch(`/api/runs/${retried}/process`, { method: 'POST' });
      const ok = await waitForStatus(server, retried, ['completed', 'failed']);
      assert.equal(ok.status, 'completed');
      assert.equal(ok.attempt, 3);
      const events = await readSse(server, retried, {});
      const retries = events.filter((e) => e.data.type === 'retry');
      assert.equal(retries.length, 2);
      assert.match(String(retries[0]!.data.error), /simulated transient failure/);
      assert.ok(Number(retries[0]!.data.delayMs) >= 25);

      const permanent = await createRun({ engine: 'test', settings: { stepMs: 1, failWith: 'permanent' } });
      await upload(permanent, [{ name: 'a.jpg', data: await makeImage(1) }]);
      await server.fetch(`/api/runs/${permanent}/process`, { method: 'POST' });
      const failed = await waitForStatus(server, permanent, ['completed', 'failed']);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.attempt, 1);
      assert.match(failed.error, /simulated permanent failure/);
      assert.match(failed.errorHint, /failWith/);

      const exhausted = await createRun({ engine: 'test', settings: { stepMs: 1, failWith: 'transient', failAttempts: 100 } });
      await upload(exhausted, [{ name: 'a.jpg', data: await makeImage(1) }]);
      await server.fetch(`/api/runs/${exhausted}/process`, { method: 'POST' });
      const gaveUp = await waitForStatus(server, exhausted, ['completed', 'failed']);
      assert.equal(gaveUp.status, 'failed');
      assert.match(gaveUp.error, /gave up after 4 attempts/);

      const crashed = await createRun({ engine: 'test', settings: { stepMs: 1, failWith: 'crash' } });
      await upload(crashed, [{ name: 'a.jpg', data: await makeImage(1) }]);
      await server.fetch(`/api/runs/${crashed}/process`, { method: 'POST' });
      const bug = await waitForStatus(server, crashed, ['completed', 'failed']);
      assert.match(bug.error, /Engine "test" crashed: simulated engine bug/);
    });

    test('cancel aborts a running engine; the run ends canceled and stays so', async () => {
      const runId = await createRun({ engine: 'test', settings: { steps: 200, stepMs: 50 } });
      await upload(runId, [{ name: 'a.jpg', data: await makeImage(1) }]);
      await server.fetch(`/api/runs/${runId}/process`, { method: 'POST' });
      await waitFor(async () => (await server.json(`/api/runs/${runId}`)).body.stage === 'inference');
      const canceled = await server.json(`/api/runs/${runId}/cancel`, { method: 'POST' });
      assert.equal(canceled.status, 200);
      assert.equal(canceled.body.status, 'canceled');
      await new Promise((r) => setTimeout(r, 300));
      const later = await server.json(`/api/runs/${runId}`);
      assert.equal(later.body.status, 'canceled');
      assert.ok(later.body.progress < 0.5, 'the engine stopped');
      const again = await server.json(`/api/runs/${runId}/cancel`, { method: 'POST' });
      assert.equal(again.status, 409);
    });

    test('rerun makes a child run on the same images with merged settings', async () => {
      const parent = await createRun({ engine: 'test', settings: { confThreshold: 30, stepMs: 1 } });
      await upload(parent, [
        { name: 'b.jpg', data: await makeImage(2) },
        { name: 'a.jpg', data: await makeImage(1) },
      ]);
      await server.fetch(`/api/runs/${parent}/process`, { method: 'POST' });
      await waitForStatus(server, parent, ['completed']);
      const rerun = await server.json(`/api/runs/${parent}/rerun`, jsonBody({ settings: { maskBlackBg: true } }));
      assert.equal(rerun.status, 202);
      assert.equal(rerun.body.parentRunId, parent);
      assert.equal(rerun.body.settings.confThreshold, 30);
      assert.equal(rerun.body.settings.maskBlackBg, true);
      assert.deepEqual(rerun.body.images, ['a.jpg', 'b.jpg']);
      const child = await waitForStatus(server, rerun.body.runId, ['completed']);
      assert.ok(child.artifacts.glb);
      const badRerun = await server.json(`/api/runs/${parent}/rerun`, jsonBody({ settings: { confThreshold: 400 } }));
      assert.equal(badRerun.status, 400);
    });

    test('list is paged and filtered; delete removes the run and its files', async () => {
      const a = await createRun();
      const b = await createRun();
      const page = await server.json('/api/runs?limit=1');
      assert.equal(page.body.runs.length, 1);
      assert.equal(page.body.runs[0].runId, b, 'newest first');
      assert.ok(page.body.total >= 2);
      const queued = await server.json('/api/runs?status=queued&engine=test&limit=200');
      assert.ok(queued.body.runs.every((r: { status: string }) => r.status === 'queued'));
      assert.ok(queued.body.runs.some((r: { runId: string }) => r.runId === a));
      const badFilter = await server.json('/api/runs?status=bogus');
      assert.equal(badFilter.status, 400);
      const deleted = await server.fetch(`/api/runs/${a}`, { method: 'DELETE' });
      assert.equal(deleted.status, 204);
      assert.equal((await server.json(`/api/runs/${a}`)).status, 404);
      await assert.rejects(readdir(join(server.dataDir, 'runs', a)));
    });

    test('health, engines and the OpenAPI document', async () => {
      const health = await server.json('/api/health');
      assert.equal(health.body.status, 'ok');
      assert.equal(health.body.database, mode);
      const engines = await server.json('/api/engines');
      const test = engines.body.engines.find((e: { id: string }) => e.id === 'test');
      assert.equal(test.available, true);
      assert.equal(test.settingsSchema.properties.confThreshold.default, 50);
      const openapi = await server.json('/openapi.json');
      assert.equal(openapi.body.openapi, '3.1.0');
      assert.ok(openapi.body.paths['/api/runs/{runId}/images']);
      assert.ok(openapi.body.paths['/api/runs/{runId}'].get.responses['200']);
    });
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface SseEvent {
  id: number;
  data: Record<string, unknown>;
}

/** Reads SSE frames until the server ends the stream, or until `max` events. */
async function readSse(server: TestServer, runId: string, headers: Record<string, string>, max = Number.POSITIVE_INFINITY) {
  const controller = new AbortController();
  const response = await server.fetch(`/api/runs/${runId}/stream`, { headers, signal: controller.signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body!) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: (\d+)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (id && data) events.push({ id: Number(id), data: JSON.parse(data) });
        if (events.length >= max) {
          controller.abort();
          return events;
        }
        end = buffer.indexOf('\n\n');
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  }
  return events;
}

describe('cameras and predictions metadata', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('pglite');
  });
  after(() => server?.close());

  test('are read from predictions.npz: extrinsics, intrinsics, centres, names, three.js matrices', async () => {
    const runId = (await server.json('/api/runs', jsonBody({ engine: 'test', settings: { stepMs: 1 } }))).body.runId;
    const files = await Promise.all([0, 1, 2, 3].map(async (i) => ({ name: `v${i}.jpg`, data: await makeImage(i) })));
    await server.fetch(`/api/runs/${runId}/images`, { method: 'POST', body: multipart(files) });
    const early = await server.json(`/api/runs/${runId}/cameras`);
    assert.equal(early.status, 404);
    assert.match(early.body.detail, /no predictions yet/);
    await server.fetch(`/api/runs/${runId}/process`, { method: 'POST' });
    await waitForStatus(server, runId, ['completed']);
    const { status, body } = await server.json(`/api/runs/${runId}/cameras`);
    assert.equal(status, 200);
    assert.equal(body.numFrames, 4);
    assert.equal(body.hasDepth, false);
    // The test engine puts camera i on a circle of radius 3: centre (3 sin a, 0, −3 cos a).
    for (const camera of body.cameras) {
      const angle = (2 * Math.PI * camera.index) / 4;
      const expected = [3 * Math.sin(angle), 0, -3 * Math.cos(angle)];
      for (const [k, v] of camera.position.entries()) assert.ok(Math.abs(v - expected[k]!) < 1e-5, `centre of camera ${camera.index}`);
      assert.equal(camera.imageName, `v${camera.index}.jpg`);
      assert.deepEqual(camera.intrinsic, [[500, 0, 320], [0, 500, 240], [0, 0, 1]]);
      assert.equal(camera.threeMatrix.length, 16);
      assert.equal(camera.threeMatrix[15], 1);
    }
    // The first camera defines the scene frame: it sits at the origin, and looks (three.js: down
    // its local −z) towards +z, where VGGT's alignment puts the points in front of it.
    const first = body.cameras[0].threeMatrix;
    for (const v of [first[12], first[13], first[14]]) assert.ok(Math.abs(v) < 1e-6);
    assert.ok(Math.abs(first[10] + 1) < 1e-6, 'local z maps to scene −z');
    assert.ok(Math.abs(first[5] - 1) < 1e-6, 'up is up');
    const metadata = (await server.json(`/api/runs/${runId}/predictions/metadata`)).body;
    assert.deepEqual(metadata, { numCameras: 4, imageShape: null, totalPoints: 0, keys: ['extrinsic', 'intrinsic', 'image_names'] });
  });
});
