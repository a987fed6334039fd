import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { renderSyntheticScene } from '../fixtures/synthetic-scene.ts';
import { multipart } from '../helpers/images.ts';
import { freePort, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { jsonBody } from '../helpers/recon.ts';
import { startServeProcess, startWorkerProcess } from '../helpers/recon-process.ts';
import { waitForStatus } from '../helpers/runs.ts';
import { startS3, type TestS3 } from '../helpers/s3.ts';
import { QUICK_SPLAT_SETTINGS } from '../helpers/splat-runs.ts';

/** Two machine classes: a cheap CPU box for COLMAP and the light stages, a dear one for training. */
const MACHINES = {
  'cpu-box': { engines: 'colmap,splat-scene,splat-compress,splat-evaluate', costPerHour: 0.2 },
  'gpu-box': { engines: 'splat-train', costPerHour: 3.6 },
} as const;

let pg: TestPostgres;
let s3: TestS3;
const folders: string[] = [];
const folder = async (name: string) => {
  const dir = await mkdtemp(join(tmpdir(), `recon-${name}-`));
  folders.push(dir);
  return dir;
};
before(async () => {
  [pg, s3] = await Promise.all([startPostgres(), startS3()]);
});
after(async () => {
  await s3?.stop();
  await pg?.stop();
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

test('a split deployment: SfM on the CPU worker, training on the GPU worker, stages passed through S3, each stage charged at its worker’s rate', async (t) => {
  const shared = { DATABASE_URL: pg.url, ...s3.env, RECON_ENGINE_CONCURRENCY: '1', RECON_LOG_LEVEL: 'info' };
  const serverData = await folder('server');
  const server = await startServeProcess(await freePort(), { ...shared, RECON_DATA_DIR: serverData }, ['--no-workers']);
  const api = server.api;
  const workers = await Promise.all(
    Object.entries(MACHINES).map(async ([name, machine]) =>
      startWorkerProcess({
        ...shared,
        RECON_DATA_DIR: await folder(name),
        RECON_WORKER_NAME: name,
        RECON_WORKER_ENGINES: machine.engines,
        RECON_WORKER_COST_PER_HOUR: String(machine.costPerHour),
      }),
    ),
  );
  const listed = (await api.json('/api/workers')).body.workers as { name: string; engines: string[] }[];
  for (const [name, machine] of Object.entries(MACHINES)) {
    assert.deepEqual(listed.find((w) => w.name === name)?.engines.sort(), machine.engines.split(',').sort(), `${name} takes only its engines`);
  }

  const scene = await folder('scene');
  const { images } = await renderSyntheticScene(join(scene, 'images'), { views: 8, width: 320, height: 240 });
  const created = await api.json('/api/runs', jsonBody({ engine: 'splat', settings: QUICK_SPLAT_SETTINGS }));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const runId = created.body.runId as string;
  const photos = await Promise.all(images.map(async (path) => ({ name: basename(path), data: await readFile(path) })));
  assert.equal((await api.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart(photos) })).status, 200);
  assert.equal((await api.json(`/api/runs/${runId}/process`, { method: 'POST' })).status, 202);
  const run = await waitForStatus(api, runId, ['completed', 'failed', 'canceled'], 600_000);
  assert.equal(run.status, 'completed', `${run.error} ${run.errorHint ?? ''}\n${workers.map((w) => w.output().slice(-1500)).join('\n')}`);

  const byStage = Object.fromEntries(run.stages.map((s: { name: string }) => [s.name, s]));
  const expected = { sfm: 'cpu-box', scene: 'cpu-box', train: 'gpu-box', compress: 'cpu-box', evaluate: 'cpu-box' };
  assert.deepEqual(Object.fromEntries(Object.keys(expected).map((name) => [name, byStage[name].worker])), expected);
  for (const stage of run.stages as { name: string; worker: keyof typeof MACHINES; seconds: number; cost: number; costPerHour: number }[]) {
    const rate = MACHINES[stage.worker].costPerHour;
    assert.equal(stage.costPerHour, rate, stage.name);
    assert.ok(stage.seconds > 0, `${stage.name} took time`);
    assert.ok(Math.abs(stage.cost - (stage.seconds * rate) / 3600) < 1e-6, `${stage.name}: ${stage.cost} = ${stage.seconds} s × ${rate}/h`);
  }
  for (const stage of run.stages) t.diagnostic(`${stage.name} (${stage.engine}) on ${stage.worker}: ${stage.seconds.toFixed(1)} s × ${stage.costPerHour}/h = ${stage.cost.toFixed(6)}`);
  const total = run.stages.reduce((sum: number, s: { cost: number }) => sum + s.cost, 0);
  assert.ok(Math.abs(run.usage.cost - total) < 1e-6, `run cost ${run.usage.cost} is the stages' ${total}`);
  t.diagnostic(`run: ${run.usage.seconds.toFixed(1)} s of worker time, cost ${run.usage.cost.toFixed(6)}`);

  // Each stage read the previous one's outputs from the bucket: the artifacts are there, none on the server.
  const keys = await s3.keys(`runs/${runId}/`);
  for (const file of ['splat.ply', 'metrics.json']) assert.ok(keys.some((k) => k.endsWith(file)), `${file} in S3: ${keys.join(', ')}`);
  const ply = await api.fetch(run.artifacts['splat-ply']);
  assert.equal(ply.status, 200);
  assert.match((await ply.text()).slice(0, 20), /^ply\n/);
  const serverFiles = (await readdir(serverData, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  assert.deepEqual(serverFiles, [], 'the server keeps no run files');

  const analytics = (await api.json('/api/analytics/summary')).body;
  assert.ok(analytics.usage.byStage.some((s: { stage: string; cost: number }) => s.stage === 'train' && s.cost > 0), JSON.stringify(analytics.usage.byStage));

  for (const worker of workers) await worker.kill('SIGTERM');
  await server.kill('SIGTERM');
});
