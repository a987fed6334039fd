import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { summarizeGlb } from '../../src/formats/glb-summary.ts';
import { type FakeDa3, startFakeDa3 } from '../fixtures/da3-server/server.ts';
import { download, seedWorkflow } from '../fixtures/da3-server/workflow.ts';
import { startTestServer, type TestServer } from '../helpers/recon.ts';

const exec = promisify(execFile);

describe('da3 through the API (fake DA3 backend, same routes)', () => {
  let da3: FakeDa3;
  let server: TestServer;
  let root: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'recon-da3-'));
    da3 = await startFakeDa3();
    server = await startTestServer('pglite', { DA3_URL: da3.url, DA3_POLL_INTERVAL_MS: '20', RECON_ENGINE_CONCURRENCY: '1' });
  });
  after(async () => {
    await server?.close();
    await da3?.close();
    await rm(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    Object.assign(da3.faults, { unavailable: 0, reset: 0, failWith: undefined, steps: 3, stepMs: 20, pendingMs: 0, homogeneous: false });
    da3.requests.length = 0;
  });

  /** Resolves once Recon polls a task: faults set then hit the polling, not the submission. */
  const polling = async () => {
    while (!da3.requests.some((r) => r.path.startsWith('/task/'))) await new Promise((resolve) => setTimeout(resolve, 10));
  };

  test('GET /api/engines: da3 is available', async () => {
    const { body } = await server.json('/api/engines');
    const engine = body.engines.find((e: { id: string }) => e.id === 'da3');
    assert.equal(engine.available, true, engine.reason);
    assert.equal(engine.settingsSchema.properties.processRes.default, 504);
    assert.equal(engine.settingsSchema.properties.confThreshold.default, 40);
  });

  test('the seed workflow: progress from the task, VGGT-layout predictions.npz, scene.glb', async () => {
    Object.assign(da3.faults, { pendingMs: 100, steps: 5, stepMs: 60 });
    const { run, events, logs } = await seedWorkflow(server, { engine: 'da3', images: 3 });
    assert.equal(run.status, 'completed', run.error);
    const submitted = da3.requests.find((r) => r.path === '/inference')!.body;
    assert.equal(submitted.image_paths.length, 3);
    assert.equal(submitted.export_format, 'npz');
    assert.equal(submitted.process_res, 504);
    assert.equal(submitted.conf_thresh_percentile, 40);
    // A new stage arrives as a status event, updates within a stage as progress events.
    const stages = events.filter((e) => e.stage).map((e) => e.stage);
    assert.deepEqual([...new Set(stages)], ['waiting', 'starting', 'submitting', 'queued', 'inference', 'exporting']);
    const inference = events.filter((e) => e.type === 'progress' && e.stage === 'inference').map((e) => e.progress as number);
    assert.ok(inference.length >= 1, `inference progress: ${inference}`);
    assert.deepEqual([...inference].sort(), inference, 'progress only grows');
    assert.ok(logs.some((l) => /^DA3: Completed in/.test(l)));

    const npzPath = join(root, 'da3.npz');
    await writeFile(npzPath, await download(server, run, 'predictions'));
    const { stdout } = await exec('python3', [
      '-c',
      `import sys, json, numpy as np
z = np.load(sys.argv[1])
out = {k: list(z[k].shape) for k in z.files}
out["images_range"] = [float(z["images"].min()), float(z["images"].max())]
# world points are the depth unprojected: back into camera 1 they have z == depth
E, K, d, P = z["extrinsic"][1], z["intrinsic"][1], z["depth"][1, ..., 0], z["world_points"][1]
cam = P @ E[:, :3].T + E[:, 3]
out["z_error"] = float(np.abs(cam[..., 2] - d).max())
out["u_error"] = float(np.abs(cam[..., 0] / cam[..., 2] * K[0, 0] + K[0, 2] - np.arange(d.shape[1])[None, :]).max())
print(json.dumps(out))`,
      npzPath,
    ]);
    const shapes = JSON.parse(stdout);
    assert.deepEqual(shapes.extrinsic, [3, 3, 4]);
    assert.deepEqual(shapes.intrinsic, [3, 3, 3]);
    assert.deepEqual(shapes.depth, [3, 42, 56, 1]);
    assert.deepEqual(shapes.depth_conf, [3, 42, 56]);
    assert.deepEqual(shapes.world_points, [3, 42, 56, 3]);
    assert.deepEqual(shapes.world_points_from_depth, [3, 42, 56, 3]);
    assert.deepEqual(shapes.images, [3, 3, 42, 56]);
    assert.ok(shapes.images_range[0] >= 0 && shapes.images_range[1] <= 1);
    assert.ok(shapes.z_error < 1e-4 && shapes.u_error < 1e-3, stdout);

    const summary = await summarizeGlb(await download(server, run, 'glb'));
    assert.ok(summary.points > 1000 && summary.meshes === 2, JSON.stringify(summary));
  });

  test('(N,4,4) extrinsics are accepted', async () => {
    da3.faults.homogeneous = true;
    const { run } = await seedWorkflow(server, { engine: 'da3', images: 2 });
    assert.equal(run.status, 'completed', run.error);
  });

  test('failed task (OOM): fails at once with the backend message and a hint', async () => {
    da3.faults.failWith = 'OOM during inference: CUDA out of memory. Tried to allocate 3.00 GiB';
    const { run, events } = await seedWorkflow(server, { engine: 'da3' });
    assert.equal(run.status, 'failed');
    assert.match(run.error, /^The DA3 backend ran out of GPU memory: Failed after 0\.10s: OOM during inference: CUDA out of memory/);
    assert.match(run.errorHint, /fewer images, or lower processRes/);
    assert.equal(events.filter((e) => e.type === 'retry').length, 0, 'not retried');
  });

  test('503 and connection resets on submit: retried, then completed', async () => {
    Object.assign(da3.faults, { unavailable: 1, reset: 1 });
    const { run, events } = await seedWorkflow(server, { engine: 'da3' });
    assert.equal(run.status, 'completed', run.error);
    const retries = events.filter((e) => e.type === 'retry').map((e) => String(e.error));
    assert.equal(retries.length, 2, retries.join('\n'));
    assert.ok(retries.some((r) => /^The DA3 backend is unavailable \(POST \/inference answered 503: Service Unavailable\)$/.test(r)), retries.join('\n'));
    assert.ok(retries.some((r) => /^The DA3 backend at http:\/\/127\.0\.0\.1:\d+ is unreachable: /.test(r)), retries.join('\n'));
  });

  test('blips while polling are ridden out within the attempt', async () => {
    Object.assign(da3.faults, { steps: 10, stepMs: 60 });
    const result = seedWorkflow(server, { engine: 'da3' });
    await polling();
    Object.assign(da3.faults, { unavailable: 2, reset: 1 });
    const { run, events, logs } = await result;
    assert.equal(run.status, 'completed', run.error);
    assert.equal(events.filter((e) => e.type === 'retry').length, 0);
    assert.ok(logs.some((l) => /^Polling DA3 task .* failed \(1\/5\)/.test(l)), logs.join('\n'));
  });

  test('a restarted backend forgets the task: the attempt is retried and resubmitted', async () => {
    Object.assign(da3.faults, { steps: 10, stepMs: 50 });
    const result = seedWorkflow(server, { engine: 'da3' });
    await polling();
    da3.restart();
    const { run, events } = await result;
    assert.equal(run.status, 'completed', run.error);
    const retry = events.find((e) => e.type === 'retry');
    assert.match(String(retry?.error), /^The DA3 backend no longer knows the task \(GET \/task\/.* answered 404: Task not found\); it was probably restarted$/);
    assert.equal(da3.requests.filter((r) => r.path === '/inference').length, 2);
  });

  test('unreachable backend: GET /api/engines says why', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const dead = await startTestServer('pglite', { DA3_URL: `http://127.0.0.1:${port}` });
    try {
      const { body } = await dead.json('/api/engines');
      const engine = body.engines.find((e: { id: string }) => e.id === 'da3');
      assert.equal(engine.available, false);
      assert.equal(engine.reason, `The DA3 backend at http://127.0.0.1:${port} is unreachable: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${port})`);
    } finally {
      await dead.close();
    }
  });
});
