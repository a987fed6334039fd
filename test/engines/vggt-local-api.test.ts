import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { VggtLocalEngine } from '../../src/engines/vggt-local/index.ts';
import { summarizeGlb } from '../../src/formats/glb-summary.ts';
import { download, seedWorkflow } from '../fixtures/da3-server/workflow.ts';
import { startTestServer, type TestServer } from '../helpers/recon.ts';

const exec = promisify(execFile);
const STUB = resolve(import.meta.dirname, '../fixtures/vggt-stub');
const LOAD_SECONDS = 0.6;

/** The real worker.py, with the stand-in torch/vggt packages first on its PYTHONPATH. */
describe('vggt-local through the API (real worker.py, stand-in vggt)', () => {
  let root: string;
  let server: TestServer;
  let crashFile: string;
  let loadLog: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'recon-vggt-local-'));
    crashFile = join(root, 'crash-next-run');
    loadLog = join(root, 'loads.log');
    const weights = join(root, 'model.pt');
    await writeFile(weights, 'stand-in checkpoint');
    // The worker inherits this process's environment when it is spawned.
    Object.assign(process.env, {
      PYTHONPATH: STUB,
      VGGT_STUB_SIZE: '56',
      VGGT_STUB_LOAD_SECONDS: String(LOAD_SECONDS),
      VGGT_STUB_OOM_ABOVE: '4',
      VGGT_STUB_CRASH_FILE: crashFile,
      VGGT_STUB_LOG: loadLog,
    });
    server = await startTestServer('pglite', { VGGT_WEIGHTS: weights, RECON_ENGINE_CONCURRENCY: '1' });
  });
  after(async () => {
    await (server?.recon.engines.get('vggt-local') as VggtLocalEngine | undefined)?.close();
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  const loads = async () => (await readFile(loadLog, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

  test('GET /api/engines: vggt-local is available and the default; da3 says DA3_URL is not set', async () => {
    const { body } = await server.json('/api/engines');
    const local = body.engines.find((e: { id: string }) => e.id === 'vggt-local');
    assert.equal(local.available, true, local.reason);
    assert.equal(body.default, 'vggt-local');
    assert.deepEqual(local.limits, { minImages: 1, maxImages: 200 });
    assert.equal(local.settingsSchema.properties.predictionMode.default, 'depth');
    const da3 = body.engines.find((e: { id: string }) => e.id === 'da3');
    assert.equal(da3.available, false);
    assert.match(da3.reason, /^DA3_URL is not set/);
  });

  test('cold run: loads the model, writes a GLB and a VGGT-layout predictions.npz', async () => {
    const { run, events, logs, processingMs } = await seedWorkflow(server, { engine: 'vggt-local', settings: { confThreshold: 30 } });
    assert.equal(run.status, 'completed', run.error);
    assert.deepEqual(Object.keys(run.artifacts).sort(), ['glb', 'predictions', 'preview']);
    const stages = events.filter((e) => e.stage).map((e) => e.stage);
    assert.ok(stages.includes('loading_model'), `stages: ${stages}`);
    assert.ok(stages.includes('inference') && stages.includes('exporting'));
    assert.ok(logs.some((l) => /^VGGT model loaded in 0\.6\d s on cuda \(Stub GPU \(numpy\)\), bfloat16$/.test(l)), logs.join('\n'));
    assert.ok(processingMs >= LOAD_SECONDS * 1000, `processing took ${processingMs} ms`);
    console.log(`cold run: ${processingMs} ms from processing to completed`);

    const glb = await download(server, run, 'glb');
    const summary = await summarizeGlb(glb);
    assert.ok(summary.points > 1000 && summary.meshes === 2, JSON.stringify(summary));

    const npzPath = join(root, 'cold.npz');
    await writeFile(npzPath, await download(server, run, 'predictions'));
    const { stdout } = await exec('python3', [
      '-c',
      'import sys, json, numpy as np; z = np.load(sys.argv[1]); print(json.dumps({k: [list(z[k].shape), str(z[k].dtype)] for k in z.files}))',
      npzPath,
    ]);
    assert.deepEqual(JSON.parse(stdout), {
      extrinsic: [[3, 3, 4], 'float32'],
      intrinsic: [[3, 3, 3], 'float32'],
      depth: [[3, 56, 56, 1], 'float32'],
      depth_conf: [[3, 56, 56], 'float32'],
      world_points: [[3, 56, 56, 3], 'float32'],
      world_points_conf: [[3, 56, 56], 'float32'],
      world_points_from_depth: [[3, 56, 56, 3], 'float32'],
      images: [[3, 3, 56, 56], 'float32'],
      pose_enc: [[3, 9], 'float32'],
    });
    const cameras = await server.json(`/api/runs/${run.runId}/cameras`);
    assert.equal(cameras.body.numFrames, 3);
  });

  test('warm run: the second run skips model loading', async () => {
    const { run, events, logs, processingMs } = await seedWorkflow(server, { engine: 'vggt-local', settings: { predictionMode: 'pointmap' } });
    assert.equal(run.status, 'completed', run.error);
    const stages = events.filter((e) => e.stage).map((e) => e.stage);
    assert.ok(!stages.includes('loading_model'), `stages: ${stages}`);
    assert.ok(logs.some((l) => /^VGGT worker is warm \(model loaded in 0\.6\d s, up \d+ s, 1 runs served\); skipping model loading$/.test(l)), logs.join('\n'));
    assert.ok(logs.some((l) => /points from world_points \/ world_points_conf/.test(l)));
    assert.equal(await loads(), 1, 'the model was loaded once');
    console.log(`warm run: ${processingMs} ms from processing to completed`);
  });

  test('out of GPU memory: fails with the image count and a hint; the worker stays up', async () => {
    const pid = (server.recon.engines.get('vggt-local') as VggtLocalEngine).worker.pid;
    const { run } = await seedWorkflow(server, { engine: 'vggt-local', images: 5 });
    assert.equal(run.status, 'failed');
    assert.match(run.error, /^Out of GPU memory running VGGT on 5 images at 56x56: CUDA out of memory\. Tried to allocate 2\.50 GiB/);
    assert.match(run.errorHint, /ran out of memory with 5 images\. Use fewer or smaller images/);
    assert.equal((server.recon.engines.get('vggt-local') as VggtLocalEngine).worker.pid, pid, 'same worker');
    assert.equal(await loads(), 1);
  });

  test('the worker dies mid-run: the attempt is retried on a restarted worker and completes', async () => {
    await writeFile(crashFile, '');
    const { run, events, logs } = await seedWorkflow(server, { engine: 'vggt-local' });
    assert.equal(run.status, 'completed', run.error);
    const retry = events.find((e) => e.type === 'retry');
    assert.ok(retry, 'a retry event');
    assert.match(String(retry.error), /^The VGGT worker was killed by SIGKILL during the run; it will be restarted/);
    assert.ok(logs.filter((l) => l.startsWith('Starting the VGGT worker')).length === 1, 'restarted once in this run');
    assert.equal(await loads(), 2, 'a second model load after the crash');
  });
});
