import assert from 'node:assert/strict';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { multipart } from '../helpers/images.ts';
import { freePort, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { jsonBody, type TestServer } from '../helpers/recon.ts';
import { type ReconProcess, startServeProcess, startWorkerProcess } from '../helpers/recon-process.ts';
import { waitForStatus } from '../helpers/runs.ts';
import { startS3, type TestS3 } from '../helpers/s3.ts';

const PHOTOS = join(import.meta.dirname, '..', '..', 'demo', 'photos');
/** Small enough that COLMAP takes seconds on two busy cores, large enough that it registers the photos. */
const COLMAP_SETTINGS = { maxImageSize: 400, numThreads: 1 };

let pg: TestPostgres;
let s3: TestS3;
const folders: string[] = [];
before(async () => {
  [pg, s3] = await Promise.all([startPostgres(), startS3()]);
});
after(async () => {
  await s3?.stop();
  await pg?.stop();
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

const folder = async (name: string) => {
  const dir = await mkdtemp(join(tmpdir(), `recon-${name}-`));
  folders.push(dir);
  return dir;
};

/** Every file under `dir`, relative to it. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

async function createColmapRun(api: TestServer): Promise<string> {
  const created = await api.json('/api/runs', jsonBody({ engine: 'colmap', settings: COLMAP_SETTINGS }));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const runId = created.body.runId as string;
  const names = (await readdir(PHOTOS)).filter((n) => n.endsWith('.jpg')).sort();
  const photos = await Promise.all(names.map(async (name) => ({ name, data: await readFile(join(PHOTOS, name)), type: 'image/jpeg' })));
  const uploaded = await api.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart(photos) });
  assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
  assert.equal(uploaded.body.images.length, names.length);
  const processing = await api.json(`/api/runs/${runId}/process`, { method: 'POST' });
  assert.equal(processing.status, 202, JSON.stringify(processing.body));
  return runId;
}

/** The artifact as the API serves it equals the object in the bucket: whole, by Range, with S3's ETag. */
async function assertServedAsStored(api: TestServer, runId: string, type: string, key: string) {
  const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `runs/${runId}/${key}` }));
  const stored = Buffer.from(await object.Body!.transformToByteArray());
  const whole = await api.fetch(`/api/runs/${runId}/artifacts/${type}`);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('etag'), object.ETag, `${type}: the ETag is the object's`);
  assert.match(whole.headers.get('content-disposition') ?? '', new RegExp(`attachment; filename="${runId}-`));
  assert.ok(Buffer.from(await whole.arrayBuffer()).equals(stored), `${type}: byte-identical`);
  const start = Math.floor(stored.length / 3);
  const end = Math.min(stored.length - 1, start + 4095);
  const ranged = await api.fetch(`/api/runs/${runId}/artifacts/${type}`, { headers: { range: `bytes=${start}-${end}` } });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.headers.get('content-range'), `bytes ${start}-${end}/${stored.length}`);
  assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(stored.subarray(start, end + 1)), `${type}: the range is byte-identical`);
  const again = await api.fetch(`/api/runs/${runId}/artifacts/${type}`, { headers: { 'if-none-match': object.ETag ?? '' } });
  assert.equal(again.status, 304);
}

test('Postgres + S3 + a server without workers + two workers: runs complete on a worker, a worker killed mid-run is replaced, nothing lands on the server’s disk', async (t) => {
  const started = Date.now();
  const mark = (what: string) => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
  const shared = {
    DATABASE_URL: pg.url,
    ...s3.env,
    RECON_ENGINE_CONCURRENCY: '1',
    RECON_JOB_HEARTBEAT_SECONDS: '10',
    RECON_QUEUE_SUPERVISE_SECONDS: '1',
    RECON_LOG_LEVEL: 'info',
  };
  const serverData = await folder('server');
  const port = await freePort();
  const server = await startServeProcess(port, { ...shared, RECON_DATA_DIR: serverData }, ['--no-workers']);
  const api = server.api;
  const workers: Record<string, ReconProcess> = {};
  const workerData: Record<string, string> = {};
  for (const name of ['worker-a', 'worker-b']) {
    workerData[name] = await folder(name);
    workers[name] = await startWorkerProcess({ ...shared, RECON_DATA_DIR: workerData[name], RECON_WORKER_NAME: name });
  }

  mark('server and two workers up');
  const listed = await api.json('/api/workers');
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body.workers.map((w: { name: string }) => w.name).sort(), ['worker-a', 'worker-b']);
  for (const worker of listed.body.workers) {
    assert.ok(worker.engines.includes('colmap'), `${worker.name} takes COLMAP runs: ${worker.engines}`);
    assert.equal(worker.runsInProgress, 0);
  }

  // 1. A COLMAP run on real photos completes on one of the workers.
  const first = await createColmapRun(api);
  const done = await waitForStatus(api, first, ['completed', 'failed', 'canceled'], 300_000);
  assert.equal(done.status, 'completed', `${done.error ?? ''}\n${server.output().slice(-2000)}`);
  assert.ok(['worker-a', 'worker-b'].includes(done.worker), `ran on ${done.worker}`);
  mark(`first run completed on ${done.worker}`);
  await assertServedAsStored(api, first, 'glb', 'scene.glb');
  await assertServedAsStored(api, first, 'predictions', 'predictions.npz');
  const thumbnail = await api.fetch(`/api/runs/${first}/thumbnails/${done.images[0]}`);
  assert.equal(thumbnail.status, 200, 'thumbnails are made on the worker and served from S3');

  // 2. A second run: the worker running it is killed (SIGKILL); the other one finishes it.
  const second = await createColmapRun(api);
  let victim = '';
  const deadline = Date.now() + 120_000;
  for (;;) {
    const run = (await api.json(`/api/runs/${second}`)).body;
    if (run.worker && run.stage !== 'waiting' && run.stage !== 'starting' && run.status === 'processing') {
      victim = run.worker;
      break;
    }
    assert.ok(Date.now() < deadline, `run ${second} never started: ${JSON.stringify(run)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const busy = (await api.json('/api/workers')).body.workers.find((w: { name: string }) => w.name === victim);
  assert.deepEqual(busy?.runs, [second], 'GET /api/workers shows the run in progress');
  assert.equal(await workers[victim]!.kill('SIGKILL'), 'SIGKILL');
  mark(`killed ${victim} (SIGKILL) while the second run was at ${(await api.json(`/api/runs/${second}`)).body.stage}`);
  const survivor = victim === 'worker-a' ? 'worker-b' : 'worker-a';
  const finished = await waitForStatus(api, second, ['completed', 'failed', 'canceled'], 300_000);
  assert.equal(finished.status, 'completed', `${finished.error ?? ''}\n${workers[survivor]!.output().slice(-3000)}`);
  assert.equal(finished.worker, survivor, 'the surviving worker finished it');
  mark(`second run completed on ${survivor}, attempt ${finished.attempt}`);
  assert.ok(finished.attempt >= 2, `attempt ${finished.attempt}: the run was taken again`);
  await assertServedAsStored(api, second, 'glb', 'scene.glb');
  await assertServedAsStored(api, second, 'colmap', 'colmap.zip');

  // The dead worker drops out of the list once its heartbeats stop.
  for (;;) {
    const names = (await api.json('/api/workers')).body.workers.map((w: { name: string }) => w.name);
    if (!names.includes(victim)) break;
    await new Promise((r) => setTimeout(r, 500));
  }

  mark(`${victim} dropped out of GET /api/workers`);

  // 3. Nothing of any run is on the server's disk; a deleted run leaves no object behind.
  assert.deepEqual(await files(serverData), [], 'the server keeps no run files (nor any other file: its database is Postgres)');
  assert.equal((await api.fetch(`/api/runs/${first}`, { method: 'DELETE' })).status, 204);
  assert.deepEqual(await s3.keys(`runs/${first}/`), []);
  assert.ok((await s3.keys(`runs/${second}/`)).includes(`runs/${second}/scene.glb`));

  await workers[survivor]!.kill('SIGTERM');
  await server.kill('SIGTERM');
});
