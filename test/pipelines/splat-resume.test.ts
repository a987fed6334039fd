import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { renderSyntheticScene } from '../fixtures/synthetic-scene.ts';
import { multipart } from '../helpers/images.ts';
import { freePort } from '../helpers/postgres.ts';
import { jsonBody } from '../helpers/recon.ts';
import { startServeProcess } from '../helpers/recon-process.ts';
import { waitForStatus } from '../helpers/runs.ts';

test('kill -9 the server mid-training: after a restart the train stage resumes from its last checkpoint', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recon-splat-resume-'));
  const images = (await renderSyntheticScene(join(dir, 'images'), { views: 8, width: 320, height: 240 })).images;
  const dataDir = join(dir, 'data');
  const port = await freePort();
  const env = { RECON_DATA_DIR: dataDir, RECON_ENGINE_CONCURRENCY: '1', RECON_WORKER_COST_PER_HOUR: '7.2' };
  const first = await startServeProcess(port, env);
  const settings = {
    sfm: { maxImageSize: 320 },
    scene: { maxImageSize: 320 },
    train: { preset: 'quick', iterations: 200, width: 96, checkpointEvery: 50, previewEvery: 1000, progressEvery: 10 },
    compress: { viewer: false },
  };
  const created = await first.api.json('/api/runs', jsonBody({ engine: 'splat', settings }));
  const runId = created.body.runId as string;
  const files = await Promise.all(images.map(async (path) => ({ name: basename(path), data: await readFile(path) })));
  assert.equal((await first.api.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart(files) })).status, 200);
  await first.api.fetch(`/api/runs/${runId}/process`, { method: 'POST' });

  // Past the checkpoint at step 100, well before the end.
  let killedAt = 0;
  for (const deadline = Date.now() + 300_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const train = (await first.api.json(`/api/runs/${runId}`)).body.stages[2];
    if (train.status === 'running' && (train.details?.iteration ?? 0) >= 110) {
      killedAt = train.details.iteration;
      break;
    }
  }
  assert.ok(killedAt >= 110 && killedAt < 200, `training reached ${killedAt}`);
  await first.kill('SIGKILL');

  const second = await startServeProcess(port, env);
  const run = await waitForStatus(second.api, runId, ['completed', 'failed'], 300_000);
  assert.equal(run.status, 'completed', run.error);
  const train = run.stages[2];
  assert.equal(train.attempt, 2, 'the stage ran again after the crash');
  assert.equal(train.summary.iterations, 200);
  assert.ok(train.summary.resumedFromIteration >= 100 && train.summary.resumedFromIteration <= killedAt, `resumed from ${train.summary.resumedFromIteration}, killed at ${killedAt}`);
  assert.ok(train.seconds > 0 && Math.abs(train.cost - (train.seconds * 7.2) / 3600) < 1e-6, 'both attempts are charged at the rate');
  const log = await (await second.api.fetch(`/api/runs/${runId}/stream`)).text();
  assert.match(log, new RegExp(`resumed from checkpoint at iteration ${train.summary.resumedFromIteration} of 200`));
  assert.match(log, /server restarted while the run was at stage \\"training\\"/);
  assert.equal(run.stages[0].attempt, 1, 'the stages done before the crash did not run again');
  await second.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});
