import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeImage, multipart } from '../helpers/images.ts';
import { freePort } from '../helpers/postgres.ts';
import { jsonBody } from '../helpers/recon.ts';
import { spawnRecon, startServeProcess } from '../helpers/recon-process.ts';
import { waitForStatus } from '../helpers/runs.ts';

/** `recon serve` as a real child process, so it can be killed with SIGKILL. */
const startChild = (dataDir: string, port: number) =>
  startServeProcess(port, { RECON_DATA_DIR: dataDir, RECON_TEST_ENGINES: '1', RECON_ENGINE_CONCURRENCY: '1', RECON_LOG_LEVEL: 'warn' });

test('kill -9 while runs are queued, uploading and processing: a restart loses nothing and nothing stays stuck', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recon-crash-'));
  const port = await freePort();
  const first = await startChild(dataDir, port);
  const api = first.api;
  const create = async (settings: Record<string, unknown>) =>
    (await api.json('/api/runs', jsonBody({ engine: 'test', settings }))).body.runId as string;
  const upload = async (runId: string, n: number) => {
    const files = await Promise.all(Array.from({ length: n }, async (_, i) => ({ name: `p${i}.jpg`, data: await makeImage(i) })));
    const response = await api.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart(files) });
    assert.equal(response.status, 200);
  };

  const completed = await create({ stepMs: 1 });
  await upload(completed, 2);
  await api.fetch(`/api/runs/${completed}/process`, { method: 'POST' });
  const done = await waitForStatus(api, completed, ['completed']);
  const glbBefore = createHash('sha256').update(Buffer.from(await (await api.fetch(done.artifacts.glb)).arrayBuffer())).digest('hex');

  const queued = await create({});
  const uploading = await create({});
  await upload(uploading, 3);
  const running = await create({ steps: 40, stepMs: 50 });
  await upload(running, 2);
  const waiting = await create({ steps: 2, stepMs: 10 });
  await upload(waiting, 1);
  await api.fetch(`/api/runs/${running}/process`, { method: 'POST' });
  await api.fetch(`/api/runs/${waiting}/process`, { method: 'POST' });
  for (;;) {
    const run = (await api.json(`/api/runs/${running}`)).body;
    if (run.stage === 'inference' && run.progress > 0.1) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal((await api.json(`/api/runs/${waiting}`)).body.stage, 'waiting', 'concurrency 1: the second run waits');

  // An upload in flight when the server dies.
  const boundary = 'crashboundary';
  const req = httpRequest(`${api.url}/api/runs/${uploading}/images`, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': '1000000' },
  });
  req.on('error', () => {});
  req.write(`--${boundary}\r\nContent-Disposition: form-data; name="images"; filename="partial.jpg"\r\n\r\n`);
  req.write(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(20_000)]));
  await new Promise((r) => setTimeout(r, 150));

  await first.kill('SIGKILL');
  // As if the crash came between an upload moving its file into place and committing it.
  await writeFile(join(dataDir, 'runs', uploading, 'images', 'p9.jpg'), await makeImage(9));

  const restartedAt = Date.now();
  const second = await startChild(dataDir, port);
  const again = second.api;

  const intact = await again.json(`/api/runs/${completed}`);
  assert.equal(intact.body.status, 'completed');
  const glbAfter = createHash('sha256').update(Buffer.from(await (await again.fetch(done.artifacts.glb)).arrayBuffer())).digest('hex');
  assert.equal(glbAfter, glbBefore, 'completed artifacts are intact');
  assert.equal((await again.json(`/api/runs/${queued}`)).body.status, 'queued');
  const stillUploading = (await again.json(`/api/runs/${uploading}`)).body;
  assert.equal(stillUploading.status, 'uploading');
  assert.deepEqual(stillUploading.images, ['p0.jpg', 'p1.jpg', 'p2.jpg'], 'the interrupted upload added nothing');
  assert.deepEqual((await readdir(join(dataDir, 'runs', uploading, 'images'))).sort(), ['p0.jpg', 'p1.jpg', 'p2.jpg']);
  // Files the new process is writing now (the runs it resumed) may be there; none from before the crash.
  const staging = join(dataDir, 'tmp', 'staging');
  const staged = await readdir(staging).catch(() => [] as string[]);
  const leftovers = (await Promise.all(staged.map(async (name) => ((await stat(join(staging, name)).catch(() => undefined))?.mtimeMs ?? Infinity) < restartedAt ? name : undefined))).filter(Boolean);
  assert.deepEqual(leftovers, [], 'no partial upload files');

  const resumed = await waitForStatus(again, running, ['completed', 'failed'], 60_000);
  assert.equal(resumed.status, 'completed', resumed.error);
  const afterWaiting = await waitForStatus(again, waiting, ['completed', 'failed'], 60_000);
  assert.equal(afterWaiting.status, 'completed');

  // The manifest mirrors the database just after each commit: it catches up within moments.
  const manifestStatus = async () => JSON.parse(await readFile(join(dataDir, 'runs', running, 'metadata.json'), 'utf8')).status;
  for (const deadline = Date.now() + 10_000; (await manifestStatus()) !== 'completed' && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await manifestStatus(), 'completed', 'the manifest caught up');
  const log = await again.fetch(`/api/runs/${running}/stream`);
  const text = await log.text();
  assert.match(text, /server restarted while the run was at stage/);
  // Its job was still in the queue: it kept that job rather than getting a second one.
  const waitingLog = await (await again.fetch(`/api/runs/${waiting}/stream`)).text();
  assert.doesNotMatch(waitingLog, /server restarted/);

  await second.kill('SIGTERM');
  await rm(dataDir, { recursive: true, force: true });
});

test('a second server on the same data folder refuses to start', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recon-lock-'));
  const first = await startChild(dataDir, await freePort());
  const second = spawnRecon(['serve', '--port', String(await freePort())], { RECON_DATA_DIR: dataDir });
  assert.equal(await second.exited, 2);
  assert.match(second.output(), /in use by another Recon process \(pid \d+\)/);
  assert.equal((await first.api.fetch('/api/health')).status, 200, 'the first server is unharmed');
  await first.kill('SIGTERM');
  await rm(dataDir, { recursive: true, force: true });
});
