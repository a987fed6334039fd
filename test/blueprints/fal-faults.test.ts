import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pythonJson } from '../fixtures/fal-server/python-json.ts';
import { jsonBody } from '../helpers/recon.ts';
import { type BlueprintTestServer, blueprintWithPhotos, startBlueprintServer, waitUntilSettled } from './blueprint-server.ts';

/** The files a generation left in its blueprint's store: one image and one mask, never more. */
async function generationFiles(dataDir: string, blueprintId: string, jobId: string): Promise<string[]> {
  return (await readdir(join(dataDir, 'blueprints', blueprintId, 'generations', jobId)).catch(() => [])).sort();
}

describe('fal faults', () => {
  let t: BlueprintTestServer;
  before(async () => {
    t = await startBlueprintServer('pglite', { RECON_RETRY_BASE_MS: '20', RECON_RETRY_MAX_MS: '100', FAL_MAX_ATTEMPTS: '6' });
  });
  after(() => t.close());

  test('429s, 5xx with error types, runner failures, lost, duplicated and late webhooks: each generation ends with exactly one image set', async () => {
    const { server, fal } = t;
    const faults = fal.faults;
    faults.rate429.submit = 0.15;
    faults.rate5xx.status = 0.15;
    faults.rate5xx.initiate = 0.1;
    faults.failRuns.push(
      { status: 503, errorType: 'runner_disconnected', detail: 'The runner disconnected' },
      { status: 504, errorType: 'request_timeout', detail: 'Request timed out' },
    );
    faults.plan.submit.push({ status: 502, errorType: 'runner_incomplete_response', detail: 'Incomplete response' });
    // One planned loss and one planned duplicate so both always happen; the rates add more at random.
    faults.webhooks.lose = 1;
    faults.webhooks.duplicate = 1;
    faults.webhooks.loseRate = 0.3;
    faults.webhooks.duplicateRate = 0.4;
    faults.webhooks.maxDelayMs = 150;
    try {
      const blueprint = await blueprintWithPhotos(server, ['disc', 'panel'], { template: 'metal-casting' }, 64);
      const started = await server.json(`/api/blueprints/${blueprint.id}/generate`, jsonBody({}));
      assert.equal(started.status, 202);
      const done = await waitUntilSettled(server, blueprint.id, 120_000);
      assert.equal(done.generations.length, 8);
      for (const generation of done.generations) {
        assert.equal(generation.status, 'completed', `${generation.id}: ${generation.error}`);
        const truth = fal.truth(generation.requestId)!;
        assert.deepEqual(generation.bbox, truth.bbox, 'labelled from the request that finished it');
        assert.deepEqual(await generationFiles(server.dataDir, blueprint.id, generation.id), ['image.png', 'mask.png']);
      }
      assert.ok(done.generations.some((g: any) => g.attempt > 1), 'some generations were retried');
      assert.ok(fal.stats.webhooksLost > 0 && fal.stats.webhooksDuplicated > 0, JSON.stringify(fal.stats));
    } finally {
      faults.rate429 = {};
      faults.rate5xx = {};
      faults.webhooks.lose = 0;
      faults.webhooks.duplicate = 0;
      faults.webhooks.loseRate = 0;
      faults.webhooks.duplicateRate = 0;
      faults.webhooks.maxDelayMs = 0;
    }
  });

  test('a 422 fails the generation at once, with its field errors; the others carry on', async () => {
    const { server, fal } = t;
    const blueprint = await blueprintWithPhotos(server, ['bottle'], {}, 64);
    await server.json(`/api/blueprints/${blueprint.id}/defects`, jsonBody({ defects: [{ name: 'chip' }, { name: 'crack' }] }));
    const submits = fal.stats.calls.submit;
    fal.faults.plan.submit.push({ status: 422, detail: [{ loc: ['body', 'prompt'], msg: 'String should have at most 1000 characters', type: 'string_too_long' }] });
    await server.json(`/api/blueprints/${blueprint.id}/generate`, jsonBody({}));
    const done = await waitUntilSettled(server, blueprint.id);
    const failed = done.generations.filter((g: any) => g.status === 'failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0].attempt, 1, 'not retried');
    assert.deepEqual(failed[0].fieldErrors, [{ field: 'body.prompt', message: 'String should have at most 1000 characters', type: 'string_too_long' }]);
    assert.match(failed[0].error, /422.*body\.prompt/);
    assert.ok(failed[0].errorHint);
    assert.equal(done.generations.filter((g: any) => g.status === 'completed').length, 1);
    assert.equal(fal.stats.calls.submit - submits, 2);
  });

  test('a forged signature or a 301-s-old timestamp gets 401 and changes nothing', async () => {
    const { server, fal } = t;
    fal.faults.processMs = 1500;
    try {
      const blueprint = await blueprintWithPhotos(server, ['disc'], {}, 64);
      await server.json(`/api/blueprints/${blueprint.id}/defects`, jsonBody({ defects: [{ name: 'pit' }] }));
      await server.json(`/api/blueprints/${blueprint.id}/generate`, jsonBody({}));
      let generation: any;
      for (;;) {
        generation = (await server.json(`/api/blueprints/${blueprint.id}`)).body.generations[0];
        if (generation.requestId) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const body = pythonJson({ request_id: generation.requestId, gateway_request_id: generation.requestId, status: 'ERROR', error: 'forged', payload: { detail: 'forged' } });
      for (const options of [{ forge: true }, { ageSeconds: 301 }]) {
        const response = await server.json('/api/fal/webhook', { method: 'POST', headers: fal.signer.headers(generation.requestId, body, options), body });
        assert.equal(response.status, 401);
        assert.equal(response.body.code, 'FAL_WEBHOOK_REJECTED');
        assert.equal((await server.json(`/api/blueprints/${blueprint.id}`)).body.generations[0].status, 'submitted');
      }
      const unsigned = await server.fetch('/api/fal/webhook', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(unsigned.status, 401);
      const done = await waitUntilSettled(server, blueprint.id);
      assert.equal(done.generations[0].status, 'completed', 'the real result still arrived');
    } finally {
      fal.faults.processMs = 30;
    }
  });
});
