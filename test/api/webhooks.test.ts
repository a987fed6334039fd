import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { loadConfig } from '../../src/config.ts';
import { openStore } from '../../src/db/database.ts';
import { RunEventsRepository } from '../../src/db/run-events-repository.ts';
import { startRecon } from '../../src/recon.ts';
import { makeImage, multipart } from '../helpers/images.ts';
import { jsonBody, STORE_MODES, startTestServer, type TestServer } from '../helpers/recon.ts';
import { waitForStatus } from '../helpers/runs.ts';
import { type Received, startReceiver } from '../webhooks/receiver.ts';

const FAST = { RECON_WEBHOOK_ALLOW_PRIVATE: '1', RECON_WEBHOOK_RETRY_SCHEDULE: '0,0.3,0.3,0.3,0.3' };

async function runToEnd(server: TestServer, body: Record<string, unknown> = {}, settings: Record<string, unknown> = {}) {
  const created = await server.json('/api/runs', jsonBody({ engine: 'test', settings: { stepMs: 5, ...settings }, ...body }));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const runId = created.body.runId as string;
  const uploaded = await server.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart([{ name: 'a.jpg', data: await makeImage(1) }]) });
  assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
  assert.equal((await server.fetch(`/api/runs/${runId}/process`, { method: 'POST' })).status, 202);
  return { runId, run: await waitForStatus(server, runId, ['completed', 'failed', 'canceled']) };
}

const bodyOf = (r: Received) => JSON.parse(r.body) as Record<string, any>;
const verify = (secret: string, r: Received) =>
  new Webhook(secret).verify(r.body, {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  }) as Record<string, any>;

async function waitForDeliveries(server: TestServer, predicate: (deliveries: any[]) => boolean, query = '', timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await server.json(`/api/webhooks/deliveries${query}`);
    if (predicate(body.deliveries)) return body.deliveries as any[];
    if (Date.now() > deadline) throw new Error(`deliveries never matched: ${JSON.stringify(body.deliveries, null, 1)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const mode of STORE_MODES) {
  describe(`webhooks API (${mode})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(mode, FAST);
    });
    after(() => server?.close());

    test('registration: secret shown once, literal private targets refused without the opt-in', async () => {
      const guarded = await startTestServer(mode, {});
      try {
        for (const url of ['http://127.0.0.1:9/hook', 'http://10.0.0.1/hook', 'http://169.254.169.254/latest/meta-data/', 'http://localhost:3000/', 'http://[::1]/']) {
          const refused = await guarded.json('/api/webhooks', jsonBody({ url }));
          assert.equal(refused.status, 400, url);
          assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
          assert.match(refused.body.detail, /loopback, private, link-local or metadata/);
        }
        const ok = await guarded.json('/api/webhooks', jsonBody({ url: 'https://hooks.example.com/recon', events: ['run.completed'] }));
        assert.equal(ok.status, 201, JSON.stringify(ok.body));
        assert.match(ok.body.secret, /^whsec_[A-Za-z0-9+/=]{32}$/);
        assert.deepEqual(ok.body.events, ['run.completed']);
        const listed = await guarded.json('/api/webhooks');
        assert.equal(listed.body.webhooks.length, 1);
        assert.equal(listed.body.webhooks[0].secret, undefined, 'the secret is not listed');
        const bad = await guarded.json('/api/webhooks', jsonBody({ url: 'https://hooks.example.com/', events: ['run.exploded'] }));
        assert.equal(bad.status, 400);
        const rotated = await guarded.json(`/api/webhooks/${ok.body.id}/rotate-secret`, { method: 'POST' });
        assert.equal(rotated.status, 200);
        assert.notEqual(rotated.body.secret, ok.body.secret);
        assert.equal((await guarded.fetch(`/api/webhooks/${ok.body.id}`, { method: 'DELETE' })).status, 204);
        assert.equal((await guarded.fetch(`/api/webhooks/${ok.body.id}`, { method: 'DELETE' })).status, 404);
      } finally {
        await guarded.close();
      }
    });

    test('deliveries are signed: verified by the standardwebhooks package, endpoint and per-run secrets', async () => {
      const receiver = await startReceiver();
      try {
        const endpoint = await server.json('/api/webhooks', jsonBody({ url: receiver.url('/endpoint'), events: ['run.completed', 'run.started'] }));
        assert.equal(endpoint.status, 201);
        const { body: defaultSecret } = await server.json('/api/webhooks/secret');
        assert.match(defaultSecret.secret, /^whsec_/);
        const { runId, run } = await runToEnd(server, { webhookUrl: receiver.url('/run') });
        assert.equal(run.status, 'completed');

        await receiver.waitFor((all) => all.filter((r) => r.path === '/endpoint').length >= 2 && all.some((r) => r.path === '/run' && bodyOf(r).type === 'run.completed'));
        const toEndpoint = receiver.received.filter((r) => r.path === '/endpoint');
        for (const r of toEndpoint) {
          const payload = verify(endpoint.body.secret, r);
          assert.equal(payload.runId, runId);
          assert.throws(() => verify(defaultSecret.secret, r), 'not signed with the default secret');
          assert.match(String(r.headers['webhook-signature']), /^v1,[A-Za-z0-9+/=]+$/);
          assert.equal(r.headers['content-type'], 'application/json');
        }
        assert.deepEqual(toEndpoint.map((r) => bodyOf(r).type).sort(), ['run.completed', 'run.started']);
        const completed = bodyOf(toEndpoint.find((r) => bodyOf(r).type === 'run.completed') as Received);
        assert.equal(completed.status, 'completed');
        assert.equal(completed.artifacts.glb, `/api/runs/${runId}/artifacts/glb`, 'the run as GET /api/runs/:id shows it');
        assert.deepEqual(completed.images, ['a.jpg']);
        const started = bodyOf(toEndpoint.find((r) => bodyOf(r).type === 'run.started') as Received);
        assert.equal(started.status, 'processing');

        const toRun = receiver.received.filter((r) => r.path === '/run');
        for (const r of toRun) assert.equal(verify(defaultSecret.secret, r).runId, runId);
        const types = toRun.map((r) => bodyOf(r).type);
        assert.ok(types.includes('run.started') && types.includes('run.completed'), types.join());

        const deliveries = await waitForDeliveries(server, (d) => d.filter((x) => x.runId === runId && x.status === 'succeeded').length >= 4, `?runId=${runId}`);
        const one = deliveries.find((d) => d.endpointId === endpoint.body.id && d.eventType === 'run.completed');
        assert.equal(one.attempts, 1);
        assert.equal(one.attemptLog[0].statusCode, 204);
        assert.equal(typeof one.attemptLog[0].durationMs, 'number');
        assert.equal(one.id, toEndpoint.find((r) => bodyOf(r).type === 'run.completed')?.headers['webhook-id']);
        await server.fetch(`/api/webhooks/${endpoint.body.id}`, { method: 'DELETE' });
      } finally {
        await receiver.close();
      }
    });

    test('a receiver answering 410 Gone disables its endpoint', async () => {
      const receiver = await startReceiver(() => ({ status: 410 }));
      try {
        const endpoint = await server.json('/api/webhooks', jsonBody({ url: receiver.url('/gone'), events: ['run.completed'] }));
        await runToEnd(server);
        await receiver.waitFor((all) => all.length >= 1);
        const disabled = await (async () => {
          for (let i = 0; i < 100; i++) {
            const { body } = await server.json(`/api/webhooks/${endpoint.body.id}`);
            if (body.disabled) return body;
            await new Promise((r) => setTimeout(r, 50));
          }
          throw new Error('endpoint never disabled');
        })();
        assert.match(disabled.disabledReason, /410/);
        const [delivery] = await waitForDeliveries(server, (d) => d[0]?.status === 'failed', `?endpointId=${endpoint.body.id}`);
        assert.equal(delivery.attempts, 1, 'no retry after 410');
        await runToEnd(server);
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(receiver.received.length, 1, 'a disabled endpoint gets nothing more');
        const enabled = await server.json(`/api/webhooks/${endpoint.body.id}/enable`, { method: 'POST' });
        assert.equal(enabled.body.disabled, false);
        await server.fetch(`/api/webhooks/${endpoint.body.id}`, { method: 'DELETE' });
      } finally {
        await receiver.close();
      }
    });

    test('Retry-After is honoured over a shorter schedule', async () => {
      const receiver = await startReceiver((_r, index) => (index === 0 ? { status: 503, headers: { 'retry-after': '2' } } : { status: 200 }));
      try {
        const endpoint = await server.json('/api/webhooks', jsonBody({ url: receiver.url('/busy'), events: ['run.completed'] }));
        await runToEnd(server);
        await receiver.waitFor((all) => all.length >= 2);
        const [first, second] = receiver.received as [Received, Received];
        assert.equal(first.headers['webhook-id'], second.headers['webhook-id'], 'a retry is the same message');
        assert.ok(second.at - first.at >= 1900, `retried after ${second.at - first.at} ms, not the 300 ms schedule`);
        const [delivery] = await waitForDeliveries(server, (d) => d[0]?.status === 'succeeded', `?endpointId=${endpoint.body.id}`);
        assert.deepEqual(delivery.attemptLog.map((a: any) => a.statusCode), [503, 200]);
        await server.fetch(`/api/webhooks/${endpoint.body.id}`, { method: 'DELETE' });
      } finally {
        await receiver.close();
      }
    });
  });
}

describe('webhook retries across a restart (pglite)', () => {
  test('a receiver that fails 3 times then succeeds gets exactly one successful delivery per event', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'recon-webhooks-'));
    const failures = new Map<string, number>();
    const receiver = await startReceiver((r) => {
      const id = String(r.headers['webhook-id']);
      const seen = failures.get(id) ?? 0;
      if (seen < 3) {
        failures.set(id, seen + 1);
        return { status: 500 };
      }
      return { status: 200 };
    });
    const env = { RECON_WEBHOOK_ALLOW_PRIVATE: '1', RECON_WEBHOOK_RETRY_SCHEDULE: '0,0.4,0.4,0.4,0.4,0.4' };
    let server = await startTestServer('pglite', env, { dataDir });
    try {
      const endpoint = await server.json('/api/webhooks', jsonBody({ url: receiver.url('/flaky'), events: ['run.started', 'run.completed'] }));
      const { runId } = await runToEnd(server, { webhookUrl: receiver.url('/run-url') });
      // Both events have been tried at least once and failed; then the server goes away.
      await receiver.waitFor((all) => all.filter((r) => r.path === '/flaky' && bodyOf(r).type === 'run.completed').length >= 1);
      await server.close();
      const before = receiver.received.length;
      assert.ok(receiver.received.every((r) => r.answered === 500), 'nothing succeeded before the restart');

      server = await startTestServer('pglite', env, { dataDir });
      const ids = () => new Set(receiver.received.map((r) => String(r.headers['webhook-id'])));
      await receiver.waitFor((all) => [...ids()].every((id) => all.some((r) => r.headers['webhook-id'] === id && r.answered === 200)), 20_000);
      await new Promise((r) => setTimeout(r, 1200));
      assert.ok(receiver.received.length > before, 'deliveries went on after the restart');

      const successes = receiver.received.filter((r) => r.answered === 200);
      const byEvent = new Map<string, number>();
      for (const r of successes) {
        const key = `${r.path} ${bodyOf(r).type}`;
        byEvent.set(key, (byEvent.get(key) ?? 0) + 1);
      }
      const wanted = ['/flaky run.completed', '/flaky run.started', '/run-url run.completed', '/run-url run.started'];
      for (const key of wanted) assert.equal(byEvent.get(key), 1, `${key}: ${JSON.stringify([...byEvent])}`);
      assert.equal(new Set(successes.map((r) => r.headers['webhook-id'])).size, successes.length, 'one success per message id');
      for (const r of receiver.received) {
        if (r.answered !== 200) continue;
        assert.equal(bodyOf(r).runId, runId);
      }

      const { body } = await server.json(`/api/webhooks/deliveries?endpointId=${endpoint.body.id}`);
      assert.equal(body.deliveries.length, 2);
      for (const d of body.deliveries) {
        assert.equal(d.status, 'succeeded');
        assert.equal(d.attempts, 4);
        assert.deepEqual(d.attemptLog.map((a: any) => a.statusCode), [500, 500, 500, 200]);
        for (const r of receiver.received.filter((x) => x.headers['webhook-id'] === d.id)) verify(endpoint.body.secret, r);
      }
    } finally {
      await server.close();
      await receiver.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('webhook dispatch catches up after a crash (pglite)', () => {
  test('a status event written while no dispatcher listened is delivered at the next start, once', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'recon-webhooks-'));
    const receiver = await startReceiver(() => ({ status: 200 }));
    let server = await startTestServer('pglite', FAST, { dataDir });
    try {
      await server.json('/api/webhooks', jsonBody({ url: receiver.url('/hook'), events: ['run.canceled'] }));
      const runId = (await server.json('/api/runs', jsonBody({ engine: 'test' }))).body.runId as string;
      await server.close();
      // As if a process wrote the event and died before turning it into deliveries.
      const store = await openStore({ dataDir });
      await store.db.updateTable('runs').set({ status: 'canceled', finished_at: new Date() }).where('id', '=', runId).execute();
      await new RunEventsRepository(store.db).append(runId, 'status', { status: 'canceled', message: 'canceled elsewhere' });
      await store.close();

      server = await startTestServer('pglite', FAST, { dataDir });
      await receiver.waitFor((all) => all.some((r) => bodyOf(r).runId === runId && bodyOf(r).type === 'run.canceled'), 15_000);
      await server.close();
      server = await startTestServer('pglite', FAST, { dataDir });
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(receiver.received.filter((r) => bodyOf(r).type === 'run.canceled').length, 1, 'caught up once, not on every start');
    } finally {
      await server.close();
      await receiver.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('webhook targets that resolve to private addresses (injected resolver, no traffic leaves)', () => {
  test('refused at delivery time, recorded as refused, never retried', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'recon-ssrf-'));
    const asked: string[] = [];
    const answers: Record<string, string> = { 'internal.example.test': '10.0.0.1', 'metadata.example.test': '169.254.169.254' };
    const receiver = await startReceiver();
    const config = loadConfig({ RECON_DATA_DIR: dataDir, PORT: '0', RECON_TEST_ENGINES: '1' });
    const recon = await startRecon(config, {
      log: pino({ level: 'silent' }),
      webhookResolve: async (hostname) => {
        asked.push(hostname);
        const address = answers[hostname];
        if (!address) throw Object.assign(new Error(`unknown test host ${hostname}`), { code: 'ENOTFOUND' });
        return [{ address, family: 4 }];
      },
    });
    try {
      const url = await recon.listen();
      const server = { url, dataDir, recon, fetch: (p: string, i?: RequestInit) => fetch(new URL(p, url), i) } as unknown as TestServer;
      server.json = async (p: string, i?: RequestInit) => {
        const response = await server.fetch(p, i);
        const text = await response.text();
        return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
      };
      for (const host of Object.keys(answers)) {
        const registered = await server.json('/api/webhooks', jsonBody({ url: `http://${host}/hook`, events: ['run.completed'] }));
        assert.equal(registered.status, 201, 'a name passes registration: only its address tells');
      }
      const literal = await server.json('/api/runs', jsonBody({ engine: 'test', webhookUrl: receiver.url('/literal') }));
      assert.equal(literal.status, 400, 'a literally private webhookUrl is refused when the run is created');
      assert.match(literal.body.detail, /webhookUrl is refused/);
      answers['loopback.example.test'] = '127.0.0.1';
      const { runId } = await runToEnd(server, { webhookUrl: `http://loopback.example.test:${new URL(receiver.url('/x')).port}/run` });
      const deliveries = await waitForDeliveries(server, (d) => d.filter((x) => x.eventType === 'run.completed' && x.status === 'failed').length === 3, `?runId=${runId}`);
      for (const d of deliveries.filter((x) => x.eventType === 'run.completed')) {
        assert.equal(d.attempts, 1, 'a refused target is not retried');
        assert.match(d.lastError, /^refused: .*(10\.0\.0\.1|169\.254\.169\.254|127\.0\.0\.1)/);
        assert.equal(d.lastStatusCode, null);
      }
      assert.deepEqual([...new Set(asked)].sort(), Object.keys(answers).sort());
      assert.equal(receiver.received.length, 0, 'the run webhookUrl resolving to 127.0.0.1 got nothing');
      const metrics = await (await server.fetch('/metrics')).text();
      assert.match(metrics, /recon_webhook_deliveries_total\{result="refused"\} [3-9]/);
    } finally {
      await recon.close();
      await receiver.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
