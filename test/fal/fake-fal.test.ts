import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ApiError, createFalClient, ValidationError } from '@fal-ai/client';
import sharp from 'sharp';
import { type FakeFal, startFakeFal } from '../fixtures/fal-server/server.ts';
import { productPhoto, rectangleMask } from '../fixtures/products.ts';

interface Received {
  headers: Record<string, string>;
  body: string;
}

/** The unmodified official client, pointed at the stand-in by rewriting origins — nothing else. */
function officialClient(fal: FakeFal) {
  return createFalClient({
    credentials: fal.key,
    requestMiddleware: async (request) => ({
      ...request,
      url: request.url.replace('https://queue.fal.run', fal.queueUrl).replace('https://rest.fal.ai', fal.restUrl),
    }),
  });
}

async function startReceiver() {
  const received: Received[] = [];
  let waiters: (() => void)[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    received.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(200).end();
    for (const wake of waiters) wake();
    waiters = [];
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    received,
    async waitFor(count: number) {
      while (received.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function verifies(webhook: Received, jwks: any): boolean {
  const h = webhook.headers;
  const digest = createHash('sha256').update(webhook.body).digest('hex');
  const message = Buffer.from(`${h['x-fal-webhook-request-id']}\n${h['x-fal-webhook-user-id']}\n${h['x-fal-webhook-timestamp']}\n${digest}`);
  return (jwks.keys as object[]).some((jwk) =>
    verify(null, message, createPublicKey({ key: jwk as never, format: 'jwk' }), Buffer.from(h['x-fal-webhook-signature']!, 'hex')),
  );
}

describe('fal stand-in, driven by the official @fal-ai/client', () => {
  let fal: FakeFal;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let client: ReturnType<typeof createFalClient>;
  let photo: Buffer;

  before(async () => {
    fal = await startFakeFal();
    receiver = await startReceiver();
    client = officialClient(fal);
    photo = await productPhoto('disc', 96);
  });
  after(async () => {
    await fal.close();
    await receiver.close();
  });

  test('upload, submit with a webhook, poll, stream, result: the painted patch is the mask', async () => {
    const imageUrl = await client.storage.upload(new Blob([photo], { type: 'image/png' }));
    const maskUrl = await client.storage.upload(new Blob([await rectangleMask(96, 96, [30, 40, 12, 9])], { type: 'image/png' }));
    assert.ok(imageUrl.startsWith(fal.restUrl), imageUrl);
    assert.deepEqual(Buffer.from(await (await fetch(imageUrl)).arrayBuffer()), photo);

    const submitted = await client.queue.submit('fal-ai/flux-pro/v1/fill', {
      input: { prompt: 'a scratch', image_url: imageUrl, mask_url: maskUrl, seed: 42, output_format: 'png' },
      webhookUrl: receiver.url,
    });
    assert.match(submitted.request_id, /^[0-9a-f-]{36}$/);
    // Status, result and cancel live under the app id without the sub-path.
    assert.equal(submitted.status_url, `${fal.queueUrl}/fal-ai/flux-pro/requests/${submitted.request_id}/status`);
    const first = await client.queue.status('fal-ai/flux-pro/v1/fill', { requestId: submitted.request_id, logs: true });
    assert.ok(['IN_QUEUE', 'IN_PROGRESS'].includes(first.status));
    const updates: string[] = [];
    const done = await client.queue.subscribeToStatus('fal-ai/flux-pro/v1/fill', {
      requestId: submitted.request_id,
      mode: 'streaming',
      logs: true,
      onQueueUpdate: (update) => updates.push(update.status),
    });
    assert.equal(done.status, 'COMPLETED');
    assert.equal(updates.at(-1), 'COMPLETED');
    const { data, requestId } = await client.queue.result('fal-ai/flux-pro/v1/fill', { requestId: submitted.request_id });
    assert.equal(requestId, submitted.request_id);
    assert.equal(data.seed, 42);
    const image = data.images[0]!;
    const output = Buffer.from(await (await fetch(image.url)).arrayBuffer());
    const meta = await sharp(output).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 96, 96]);
    const truth = fal.truth(submitted.request_id)!;
    assert.deepEqual(truth.bbox, [30, 40, 12, 9]);
    assert.equal(truth.area, 12 * 9);
    assert.equal(fal.requestOfFile(image.url)?.id, submitted.request_id);

    // A sub-path in a status URL is not fal's protocol: 404.
    const wrong = await fetch(`${fal.queueUrl}/fal-ai/flux-pro/v1/fill/requests/${submitted.request_id}/status`, {
      headers: { authorization: `Key ${fal.key}` },
    });
    assert.equal(wrong.status, 404);

    await receiver.waitFor(1);
    const webhook = receiver.received[0]!;
    assert.equal(webhook.headers['x-fal-webhook-request-id'], submitted.request_id);
    assert.ok(verifies(webhook, await (await fetch(fal.jwksUrl)).json()));
    assert.match(webhook.body, /^\{"request_id": "[^"]+", "gateway_request_id": /, 'Python-style separators');
    assert.equal(JSON.parse(webhook.body).status, 'OK');
    assert.equal(fal.stats.submitsByWebhook.get(receiver.url), 1);
  });

  test('without a seed the model picks one above 2^53, exact in the raw JSON and rounded by JSON.parse', async () => {
    const imageUrl = await client.storage.upload(new Blob([photo], { type: 'image/png' }));
    const before = receiver.received.length;
    const { request_id } = await client.queue.submit('fal-ai/flux-pro/kontext', {
      input: { prompt: 'a dent', image_url: imageUrl, output_format: 'png' },
      webhookUrl: receiver.url,
    });
    await receiver.waitFor(before + 1);
    const body = receiver.received.find((r) => r.headers['x-fal-webhook-request-id'] === request_id)!.body;
    const digits = /"seed": (\d+)/.exec(body)![1]!;
    assert.ok(BigInt(digits) > 2n ** 53n);
    assert.notEqual(String(JSON.parse(body).payload.seed), digits);
    // The mask-free edit painted inside the disc (centre 48,48, radius 0.36 × 96 ≈ 34.6).
    const truth = fal.truth(request_id)!;
    const [x, y, w, h] = truth.bbox;
    for (const [px, py] of [[x, y + h / 2], [x + w, y + h / 2], [x + w / 2, y], [x + w / 2, y + h]] as [number, number][]) {
      assert.ok(Math.hypot(px - 48, py - 48) < 35, `patch edge ${px},${py} outside the disc`);
    }
  });

  test('422 at submit arrives as the client’s ValidationError with field errors', async () => {
    fal.faults.plan.submit.push({ status: 422, detail: [{ loc: ['body', 'image_url'], msg: 'Field required', type: 'missing' }] });
    await assert.rejects(client.queue.submit('fal-ai/flux-pro/v1/fill', { input: { prompt: 'x' } as any }), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(error.getFieldErrors('image_url').map((e) => e.msg), ['Field required']);
      return true;
    });
  });

  test('a 5xx with X-Fal-Error-Type, a runner failure, and a transient 429 the client retries', async () => {
    fal.faults.plan.submit.push({ status: 500, errorType: 'runner_server_error', detail: 'boom' });
    await assert.rejects(client.queue.submit('fal-ai/flux-pro/kontext', { input: { prompt: 'x', image_url: 'x' } }), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 500);
      assert.equal((error.body as any).error_type, 'runner_server_error');
      return true;
    });

    // A 500 (not 503): the client retries a 503 result three times with 1-4 s pauses.
    fal.faults.failRuns.push({ status: 500, errorType: 'runner_server_error', detail: 'The runner crashed' });
    const imageUrl = await client.storage.upload(new Blob([photo], { type: 'image/png' }));
    const { request_id } = await client.queue.submit('fal-ai/flux-pro/kontext', { input: { prompt: 'x', image_url: imageUrl } });
    const statusCalls = fal.stats.calls.status;
    fal.faults.plan.status.push({ status: 429, detail: 'Rate limit exceeded', retryAfter: 0 });
    const done = await client.queue.subscribeToStatus('fal-ai/flux-pro/kontext', { requestId: request_id, pollInterval: 20 });
    assert.equal(done.status, 'COMPLETED');
    assert.equal((done as any).error_type, 'runner_server_error');
    assert.ok(fal.stats.calls.status >= statusCalls + 2, 'the 429 was retried by the client');
    await assert.rejects(client.queue.result('fal-ai/flux-pro/kontext', { requestId: request_id }), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 500);
      assert.equal((error.body as any).error_type, 'runner_server_error');
      return true;
    });

    // Invalid input found when the request runs: COMPLETED with an error, result 422 with detail.
    const bad = await client.queue.submit('fal-ai/flux-pro/v1/fill', { input: { prompt: 'x', image_url: imageUrl } as any });
    await client.queue.subscribeToStatus('fal-ai/flux-pro/v1/fill', { requestId: bad.request_id, pollInterval: 20 });
    await assert.rejects(client.queue.result('fal-ai/flux-pro/v1/fill', { requestId: bad.request_id }), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(error.getFieldErrors('mask_url').map((e) => e.type), ['missing']);
      return true;
    });
  });

  test('cancel: queued → 202 then cancelled; completed → 400 ALREADY_COMPLETED', async () => {
    fal.faults.queueMs = 300;
    try {
      const imageUrl = await client.storage.upload(new Blob([photo], { type: 'image/png' }));
      const { request_id } = await client.queue.submit('fal-ai/flux-pro/kontext', { input: { prompt: 'x', image_url: imageUrl } });
      await client.queue.cancel('fal-ai/flux-pro/kontext', { requestId: request_id });
      const done = await client.queue.subscribeToStatus('fal-ai/flux-pro/kontext', { requestId: request_id, pollInterval: 20 });
      assert.equal((done as any).error_type, 'client_cancelled');
      await assert.rejects(client.queue.cancel('fal-ai/flux-pro/kontext', { requestId: request_id }), (error: unknown) => {
        assert.ok(error instanceof ApiError);
        assert.equal(error.status, 400);
        assert.equal((error.body as any).status, 'ALREADY_COMPLETED');
        return true;
      });
    } finally {
      fal.faults.queueMs = 20;
    }
  });

  test('webhook faults: lost, duplicated, forged, stale; a rotated key is published', async () => {
    const imageUrl = await client.storage.upload(new Blob([photo], { type: 'image/png' }));
    const input = { prompt: 'x', image_url: imageUrl };
    const count = (id: string) => receiver.received.filter((r) => r.headers['x-fal-webhook-request-id'] === id).length;

    fal.faults.webhooks.lose = 1;
    const lost = await client.queue.submit('fal-ai/flux-pro/kontext', { input, webhookUrl: receiver.url });
    fal.faults.webhooks.duplicate = 1;
    const twice = await client.queue.submit('fal-ai/flux-pro/kontext', { input, webhookUrl: receiver.url });
    await client.queue.subscribeToStatus('fal-ai/flux-pro/kontext', { requestId: lost.request_id, pollInterval: 20 });
    while (count(twice.request_id) < 2) await new Promise((r) => setTimeout(r, 20));
    assert.equal(count(lost.request_id), 0);
    assert.equal(fal.stats.webhooksLost, 1);

    fal.faults.webhooks.forge = true;
    const forged = await client.queue.submit('fal-ai/flux-pro/kontext', { input, webhookUrl: receiver.url });
    while (count(forged.request_id) < 1) await new Promise((r) => setTimeout(r, 20));
    fal.faults.webhooks.forge = false;
    const jwks = await (await fetch(fal.jwksUrl)).json();
    assert.equal(verifies(receiver.received.find((r) => r.headers['x-fal-webhook-request-id'] === forged.request_id)!, jwks), false);

    fal.faults.webhooks.ageSeconds = 301;
    fal.signer.rotate();
    const stale = await client.queue.submit('fal-ai/flux-pro/kontext', { input, webhookUrl: receiver.url });
    while (count(stale.request_id) < 1) await new Promise((r) => setTimeout(r, 20));
    fal.faults.webhooks.ageSeconds = 0;
    const webhook = receiver.received.find((r) => r.headers['x-fal-webhook-request-id'] === stale.request_id)!;
    assert.ok(Math.floor(Date.now() / 1000) - Number(webhook.headers['x-fal-webhook-timestamp']) >= 301);
    const rotated: any = await (await fetch(fal.jwksUrl)).json();
    assert.equal(rotated.keys.length, 2);
    assert.equal(verifies(webhook, jwks), false, 'signed with the new key only');
    assert.ok(verifies(webhook, rotated));
  });

  test('no key, a wrong key: 401', async () => {
    const response = await fetch(`${fal.queueUrl}/fal-ai/flux-pro/kontext`, { method: 'POST', body: '{}', headers: { authorization: 'Key nope' } });
    assert.equal(response.status, 401);
  });
});
