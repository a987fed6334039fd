import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startFakeFal } from '../fixtures/fal-server/server.ts';
import { freePort } from '../helpers/postgres.ts';
import { startServeProcess } from '../helpers/recon-process.ts';
import { jsonBody } from '../helpers/recon.ts';
import { blueprintWithPhotos, falEnv, waitUntilSettled } from './blueprint-server.ts';

/** A real `recon serve` child (killed when the file ends), so it can be killed with SIGKILL. */
const serve = (port: number, env: Record<string, string>) => startServeProcess(port, { ...env, RECON_LOG_LEVEL: 'warn' });

test('kill -9 with generations queued, submitted and mid-submit; restart: all finish, none is submitted twice', async () => {
  const fal = await startFakeFal();
  const dataDir = await mkdtemp(join(tmpdir(), 'recon-blueprint-crash-'));
  const port = await freePort();
  const env = { ...falEnv(fal, port, { FAL_CONCURRENCY: '4', FAL_ORPHAN_GRACE_SECONDS: '20' }), RECON_DATA_DIR: dataDir };
  try {
    // The kill finds jobs queued, submitted (waiting for their results) and mid-submit: two
    // submits hang at fal for 1.5 s, and fal accepts them after the server is gone.
    fal.faults.delays.submit = [0, 0, 1500, 1500];
    fal.faults.processMs = 2500;
    // fal redelivers webhooks that fail (10 times over 2 h); here every 200 ms, to keep the test short.
    fal.faults.webhooks.retryScheduleMs = Array(100).fill(200);
    const first = await serve(port, env);
    const blueprint = await blueprintWithPhotos(first.api, ['disc', 'panel', 'bottle'], { template: 'glass-bottle' }, 64);
    await first.api.json(`/api/blueprints/${blueprint.id}/defects/${blueprint.defects[3].id}`, { method: 'DELETE' });
    const started = await first.api.json(`/api/blueprints/${blueprint.id}/generate`, jsonBody({}));
    assert.equal(started.status, 202);
    const total = started.body.generations.length;
    assert.equal(total, 9);
    let before: string[];
    for (;;) {
      before = (await first.api.json(`/api/blueprints/${blueprint.id}`)).body.generations.map((g: any) => g.status);
      if (before.filter((s) => s === 'submitting').length === 2 && before.includes('submitted')) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await first.kill('SIGKILL');
    const submittedAtKill = fal.stats.submits;

    const second = await serve(port, env);
    const done = await waitUntilSettled(second.api, blueprint.id, 120_000);
    await second.kill('SIGTERM');

    assert.deepEqual(done.generations.map((g: any) => g.status), Array(total).fill('completed'), JSON.stringify(done.generations.map((g: any) => g.error)));
    // Count the stand-in's accepted submits per job (the webhook URL names the job).
    const perJob = new Map<string, number>();
    for (const [url, count] of fal.stats.submitsByWebhook) {
      const job = new URL(url).searchParams.get('job')!;
      perJob.set(job, (perJob.get(job) ?? 0) + count);
    }
    for (const generation of done.generations) {
      assert.equal(perJob.get(generation.id), 1, `${generation.id} was submitted ${perJob.get(generation.id)} times`);
      assert.deepEqual(generation.bbox, fal.truth(generation.requestId)!.bbox);
    }
    assert.equal(fal.stats.submits, total);
    // So the two cut off mid-submit — accepted by fal after the server died — were adopted from
    // their webhooks, not submitted again.
    console.log(`at the kill: ${JSON.stringify(before)}; submits then ${submittedAtKill}, in the end ${fal.stats.submits} for ${total} generations`);
  } finally {
    await fal.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
