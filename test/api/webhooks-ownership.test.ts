import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeImage, multipart } from '../helpers/images.ts';
import { jsonBody, startTestServer, type TestServer } from '../helpers/recon.ts';
import { startReceiver, type Receiver } from '../webhooks/receiver.ts';

describe('webhooks and batches belong to their key', () => {
  let server: TestServer;
  let receiver: Receiver;
  const keys: Record<'admin' | 'a' | 'b', string> = { admin: '', a: '', b: '' };
  const as = (key: string, init: RequestInit = {}): RequestInit => ({
    ...init,
    headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${key}` },
  });

  before(async () => {
    server = await startTestServer('pglite', { RECON_WEBHOOK_ALLOW_PRIVATE: '1', RECON_WEBHOOK_RETRY_SCHEDULE: '0,0.2' });
    receiver = await startReceiver();
    const admin = await server.json('/api/keys', jsonBody({ admin: true }));
    assert.equal(admin.status, 201, JSON.stringify(admin.body));
    keys.admin = admin.body.key;
    keys.a = (await server.json('/api/keys', as(keys.admin, jsonBody({})))).body.key;
    keys.b = (await server.json('/api/keys', as(keys.admin, jsonBody({})))).body.key;
  });
  after(async () => {
    await server?.close();
    await receiver?.close();
  });

  test("one key can neither see nor touch another's endpoints, deliveries or batches (404)", async () => {
    const endpointA = await server.json('/api/webhooks', as(keys.a, jsonBody({ url: receiver.url('/a'), events: ['run.completed', 'batch.completed'] })));
    assert.equal(endpointA.status, 201);
    const endpointB = await server.json('/api/webhooks', as(keys.b, jsonBody({ url: receiver.url('/b') })));
    assert.equal(endpointB.status, 201);

    const { body: run } = await server.json('/api/runs', as(keys.a, jsonBody({ engine: 'test', settings: { stepMs: 5 } })));
    await server.fetch(`/api/runs/${run.runId}/images`, as(keys.a, { method: 'POST', body: multipart([{ name: 'a.jpg', data: await makeImage(1) }]) }));
    const batch = await server.json('/api/batch/runs', as(keys.a, jsonBody({ runIds: [run.runId] })));
    assert.equal(batch.status, 202, JSON.stringify(batch.body));
    await receiver.waitFor((all) => all.filter((r) => r.path === '/a').length >= 2);

    assert.deepEqual((await server.json('/api/webhooks', as(keys.b))).body.webhooks.map((w: any) => w.id), [endpointB.body.id]);
    for (const [method, path] of [
      ['GET', `/api/webhooks/${endpointA.body.id}`],
      ['DELETE', `/api/webhooks/${endpointA.body.id}`],
      ['POST', `/api/webhooks/${endpointA.body.id}/rotate-secret`],
      ['POST', `/api/webhooks/${endpointA.body.id}/enable`],
      ['GET', `/api/batch/runs/${batch.body.batchId}/status`],
    ] as const) {
      assert.equal((await server.fetch(path, as(keys.b, { method }))).status, 404, `${method} ${path}`);
    }
    assert.equal((await server.json('/api/batch/runs', as(keys.b, jsonBody({ runIds: [run.runId] })))).status, 404, "B cannot batch A's run");
    assert.deepEqual((await server.json('/api/webhooks/deliveries', as(keys.b))).body.deliveries, []);
    const deliveriesA = (await server.json('/api/webhooks/deliveries', as(keys.a))).body.deliveries;
    assert.deepEqual(deliveriesA.map((d: any) => d.eventType).sort(), ['batch.completed', 'run.completed']);
    assert.equal(receiver.received.filter((r) => r.path === '/b').length, 0, "B's endpoint hears nothing of A's runs");
    assert.notEqual((await server.json('/api/webhooks/secret', as(keys.a))).body.secret, (await server.json('/api/webhooks/secret', as(keys.b))).body.secret);
    assert.equal((await server.json(`/api/batch/runs/${batch.body.batchId}/status`, as(keys.a))).body.completed, 1);
    assert.equal((await server.json('/api/analytics/summary', as(keys.b))).body.totals.runs, 0, "B's analytics cover B's runs only");
    assert.equal((await server.json('/api/analytics/summary', as(keys.a))).body.totals.runs, 1);
  });
});
