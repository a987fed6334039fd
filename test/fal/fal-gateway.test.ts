import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FalError } from '../../src/engines/fal/fal-error.ts';
import { FalGateway } from '../../src/engines/fal/fal-gateway.ts';
import { firstImage, IMAGE_MODELS } from '../../src/engines/fal/image-models.ts';
import { parseJsonExact } from '../../src/engines/fal/lenient-json.ts';
import { FalWebhookVerifier, WebhookRejected } from '../../src/engines/fal/webhook-verifier.ts';
import { pythonJson } from '../fixtures/fal-server/python-json.ts';
import { type FakeFal, startFakeFal } from '../fixtures/fal-server/server.ts';
import { productPhoto, rectangleMask } from '../fixtures/products.ts';

describe('FalGateway and the webhook verifier, against the stand-in', () => {
  let fal: FakeFal;
  let gateway: FalGateway;
  before(async () => {
    fal = await startFakeFal();
    gateway = new FalGateway({ key: fal.key, queueUrl: fal.queueUrl, restUrl: fal.restUrl, maxDownloadBytes: 1 << 20 });
  });
  after(() => fal.close());

  test('upload, submit, poll, result and download through configurable hosts', async () => {
    const imageUrl = await gateway.upload(await productPhoto('panel', 64), 'image/png', 'object.png');
    const maskUrl = await gateway.upload(await rectangleMask(64, 64, [10, 12, 8, 6]), 'image/png', 'mask.png');
    const endpoint = 'fal-ai/flux-pro/v1/fill';
    const requestId = await gateway.submit(endpoint, IMAGE_MODELS[endpoint]!.input({ prompt: 'a chip', imageUrl, maskUrl, seed: 7 }), undefined);
    let status = await gateway.status(endpoint, requestId);
    while (status.state !== 'COMPLETED') status = await gateway.status(endpoint, requestId);
    assert.equal(status.error, undefined);
    assert.ok(status.logs.length > 0);
    const image = firstImage(await gateway.result(endpoint, requestId))!;
    const { bytes, contentType } = await gateway.download(image.url);
    assert.equal(contentType, 'image/png');
    assert.ok(bytes.length > 100);
    assert.deepEqual(fal.truth(requestId)!.bbox, [10, 12, 8, 6]);
    assert.equal(await gateway.cancel(endpoint, requestId), false, 'already completed');
  });

  test('failures are classified: 422 with fields, typed 5xx transient, bad key with a hint, runner errors from the status', async () => {
    fal.faults.plan.submit.push({ status: 422, detail: [{ loc: ['body', 'prompt'], msg: 'String should have at most 2000 characters', type: 'string_too_long' }] });
    const invalid = await gateway.submit('fal-ai/flux-pro/kontext', {}, undefined).catch((e: FalError) => e);
    assert.ok(invalid instanceof FalError);
    assert.equal(invalid.transient, false);
    assert.deepEqual(invalid.fieldErrors, [{ field: 'body.prompt', message: 'String should have at most 2000 characters', type: 'string_too_long' }]);

    fal.faults.plan.submit.push({ status: 500, errorType: 'runner_server_error', detail: 'boom' });
    const busy = await gateway.submit('fal-ai/flux-pro/kontext', {}, undefined).catch((e: FalError) => e);
    assert.ok(busy instanceof FalError && busy.transient && busy.errorType === 'runner_server_error', String(busy));

    const wrongKey = new FalGateway({ key: 'nope', queueUrl: fal.queueUrl, restUrl: fal.restUrl, maxDownloadBytes: 1 });
    const refused = await wrongKey.submit('fal-ai/flux-pro/kontext', {}, undefined).catch((e: FalError) => e);
    assert.ok(refused instanceof FalError && !refused.transient && /FAL_KEY/.test(refused.hint ?? ''));

    fal.faults.failRuns.push({ status: 503, errorType: 'runner_disconnected', detail: 'gone' });
    const imageUrl = await gateway.upload(await productPhoto('disc', 64), 'image/png', 'object.png');
    const requestId = await gateway.submit('fal-ai/flux-pro/kontext', { prompt: 'x', image_url: imageUrl }, undefined);
    let status = await gateway.status('fal-ai/flux-pro/kontext', requestId);
    while (status.state !== 'COMPLETED') status = await gateway.status('fal-ai/flux-pro/kontext', requestId);
    assert.equal(status.error?.transient, true);
    assert.equal(status.error?.errorType, 'runner_disconnected');

    const unreachable = new FalGateway({ key: 'k', queueUrl: 'http://127.0.0.1:9', restUrl: 'http://127.0.0.1:9', maxDownloadBytes: 1, callTimeoutMs: 300 });
    const down = await unreachable.status('fal-ai/flux-pro/kontext', 'x').catch((e: FalError) => e);
    assert.ok(down instanceof FalError && down.transient, String(down));
  });

  test('webhook signatures: valid, forged, stale, rotated key; keys cached', async () => {
    let now = Date.now();
    const verifier = new FalWebhookVerifier({ jwksUrl: fal.jwksUrl, refetchAfterMs: 1000, now: () => now });
    const body = pythonJson({ request_id: 'r-1', status: 'OK', payload: { seed: 2n ** 60n + 5n } });
    const fetchesBefore = fal.stats.calls.jwks;
    const ok = await verifier.verify(fal.signer.headers('r-1', body), Buffer.from(body));
    assert.equal(ok.requestId, 'r-1');
    await verifier.verify(fal.signer.headers('r-1', body), Buffer.from(body));
    assert.equal(fal.stats.calls.jwks, fetchesBefore + 1, 'keys fetched once');

    await assert.rejects(verifier.verify(fal.signer.headers('r-1', body, { forge: true }), Buffer.from(body)), WebhookRejected);
    await assert.rejects(verifier.verify(fal.signer.headers('r-1', body, { ageSeconds: 301 }), Buffer.from(body)), /30[12] s away from now \(limit 300 s\)/);
    await assert.rejects(verifier.verify(fal.signer.headers('r-1', body), Buffer.from(`${body} `)), WebhookRejected, 'body altered');
    await assert.rejects(verifier.verify({}, Buffer.from(body)), /missing header/);

    fal.signer.rotate();
    now += 2000;
    const rotated = await verifier.verify(fal.signer.headers('r-2', body), Buffer.from(body));
    assert.equal(rotated.requestId, 'r-2');
    assert.deepEqual(parseJsonExact(body), { request_id: 'r-1', status: 'OK', payload: { seed: String(2n ** 60n + 5n) } });
  });
});
