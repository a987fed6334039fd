import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { makeImage, multipart } from '../helpers/images.ts';
import { FILE_SETUPS, jsonBody, startTestServer, type TestServer } from '../helpers/recon.ts';
import { startReceiver } from '../webhooks/receiver.ts';

type File = { name: string; data: Buffer; type?: string };

function batchForm(runs: unknown, files: Record<string, File[]>, extra: Record<string, string> = {}) {
  const form = new FormData();
  form.append('runs', typeof runs === 'string' ? runs : JSON.stringify(runs));
  for (const [key, value] of Object.entries(extra)) form.append(key, value);
  for (const [field, list] of Object.entries(files)) {
    for (const file of list) form.append(field, new Blob([file.data], { type: file.type ?? 'image/jpeg' }), file.name);
  }
  return form;
}

async function waitForBatch(server: TestServer, batchId: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await server.json(`/api/batch/runs/${batchId}/status`);
    assert.equal(status, 200, JSON.stringify(body));
    // The status is derived from the runs; completedAt follows once the batch has been settled.
    if (body.status === 'completed' && body.completedAt) return body;
    if (Date.now() > deadline) throw new Error(`batch still ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const setup of FILE_SETUPS) {
  describe(`batches API (${setup.label})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(setup.store, { RECON_WEBHOOK_ALLOW_PRIVATE: '1', RECON_WEBHOOK_RETRY_SCHEDULE: '0,0.2' }, { blobs: setup.blobs });
    });
    after(() => server?.close());

    const runCount = async () => (await server.json('/api/runs?limit=1')).body.total as number;

    test('several runs with their own settings and files in one multipart request; batch.completed webhook', async () => {
      const receiver = await startReceiver();
      try {
        const endpoint = await server.json('/api/webhooks', jsonBody({ url: receiver.url('/batches'), events: ['batch.completed'] }));
        const images = await Promise.all([0, 1, 2].map((i) => makeImage(i)));
        const form = batchForm(
          [
            { engine: 'test', settings: { stepMs: 5, confThreshold: 30 } },
            { engine: 'test', settings: { stepMs: 5, failWith: 'permanent' } },
          ],
          { run0: [{ name: 'a.jpg', data: images[0] as Buffer }, { name: 'b.jpg', data: images[1] as Buffer }], run1: [{ name: 'a.jpg', data: images[2] as Buffer }] },
          { webhookUrl: receiver.url('/batch-url') },
        );
        const created = await server.json('/api/batch/runs', { method: 'POST', body: form });
        assert.equal(created.status, 202, JSON.stringify(created.body));
        assert.match(created.body.batchId, /^batch_\d+_[a-z0-9]+$/);
        assert.equal(created.body.runIds.length, 2);
        assert.equal(created.body.status, 'processing');
        const [first, second] = created.body.runIds as [string, string];
        const run0 = (await server.json(`/api/runs/${first}`)).body;
        assert.deepEqual(run0.images, ['a.jpg', 'b.jpg']);
        assert.equal(run0.settings.confThreshold, 30);
        assert.deepEqual((await server.json(`/api/runs/${second}`)).body.images, ['a.jpg']);

        const done = await waitForBatch(server, created.body.batchId);
        assert.equal(done.total, 2);
        assert.equal(done.completed, 1);
        assert.equal(done.failed, 1);
        assert.equal(done.processing + done.queued + done.canceled, 0);
        assert.deepEqual(done.runIds, created.body.runIds);
        assert.ok(done.completedAt);

        await receiver.waitFor((all) => all.length >= 2);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(receiver.received.length, 2, 'one batch.completed to the endpoint and one to the batch webhookUrl');
        const { body: secret } = await server.json('/api/webhooks/secret');
        for (const r of receiver.received) {
          const key = r.path === '/batches' ? endpoint.body.secret : secret.secret;
          const payload = new Webhook(key).verify(r.body, r.headers as Record<string, string>) as Record<string, any>;
          assert.equal(payload.type, 'batch.completed');
          assert.equal(payload.batchId, created.body.batchId);
          assert.equal(payload.completed, 1);
          assert.equal(payload.failed, 1);
        }
        await server.fetch(`/api/webhooks/${endpoint.body.id}`, { method: 'DELETE' });
      } finally {
        await receiver.close();
      }
    });

    test('batching existing runs queues those still taking images', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const { body } = await server.json('/api/runs', jsonBody({ engine: 'test', settings: { stepMs: 5 } }));
        await server.fetch(`/api/runs/${body.runId}/images`, { method: 'POST', body: multipart([{ name: 'x.jpg', data: await makeImage(i) }]) });
        ids.push(body.runId);
      }
      const created = await server.json('/api/batch/runs', jsonBody({ runIds: ids }));
      assert.equal(created.status, 202, JSON.stringify(created.body));
      assert.deepEqual(created.body.runIds, ids);
      const done = await waitForBatch(server, created.body.batchId);
      assert.equal(done.completed, 2);

      const again = await server.json('/api/batch/runs', jsonBody({ runIds: ids }));
      assert.equal(again.status, 202, 'finished runs can be grouped as they are');
      assert.equal(again.body.status, 'completed');

      const unknown = await server.json('/api/batch/runs', jsonBody({ runIds: [ids[0], 'run_1700000000000_zzzzzzzz'] }));
      assert.equal(unknown.status, 404);
      const { body: empty } = await server.json('/api/runs', jsonBody({ engine: 'test' }));
      const noImages = await server.json('/api/batch/runs', jsonBody({ runIds: [empty.runId] }));
      assert.equal(noImages.status, 422);
      assert.equal((await server.json(`/api/runs/${empty.runId}`)).body.status, 'queued', 'left as it was');
      assert.equal((await server.json('/api/batch/runs/batch_1_nope/status')).status, 404);
    });

    test('validation errors are problem+json and leave nothing behind', async () => {
      const image = await makeImage(3);
      const before = await runCount();
      const cases: [string, FormData | RequestInit, number, RegExp][] = [
        ['bad settings', batchForm([{ engine: 'test', settings: { confThreshold: 500 } }], { run0: [{ name: 'a.jpg', data: image }] }), 400, /runs\[0\]/],
        ['unknown engine', batchForm([{ engine: 'test' }, { engine: 'nope' }], { run0: [{ name: 'a.jpg', data: image }] }), 400, /runs\[1\]/],
        ['file for no run', batchForm([{ engine: 'test' }], { run0: [{ name: 'a.jpg', data: image }], run3: [{ name: 'b.jpg', data: image }] }), 400, /run3/],
        ['not JSON', batchForm('[{', { run0: [{ name: 'a.jpg', data: image }] }), 400, /JSON/],
        ['not an image', batchForm([{ engine: 'test' }], { run0: [{ name: 'a.jpg', data: image }, { name: 'evil.jpg', data: Buffer.from('#!/bin/sh\necho hi\n'.repeat(4)) }] }), 415, /evil\.jpg/],
        ['a run without files', batchForm([{ engine: 'test' }, { engine: 'test' }], { run0: [{ name: 'a.jpg', data: image }] }), 422, /runs\[1\]/],
        ['private webhookUrl', batchForm([{ engine: 'test', webhookUrl: 'ftp://example.com/' }], { run0: [{ name: 'a.jpg', data: image }] }), 400, /webhookUrl/],
        ['empty JSON', jsonBody({ runIds: [] }), 400, /runIds/],
      ];
      for (const [name, body, status, detail] of cases) {
        const init = body instanceof FormData ? { method: 'POST', body } : body;
        const response = await server.json('/api/batch/runs', init);
        assert.equal(response.status, status, `${name}: ${JSON.stringify(response.body)}`);
        assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/, name);
        assert.match(response.body.detail, detail, name);
      }
      assert.equal(await runCount(), before, 'no run was left behind');
      assert.deepEqual(await server.staged(), [], 'no staged file was left behind');
    });
  });
}
