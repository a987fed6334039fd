import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { makeImage, multipart } from '../helpers/images.ts';
import { jsonBody, STORE_MODES, startTestServer, type TestServer } from '../helpers/recon.ts';

const run = promisify(execFile);
const NODE = process.execPath;
const MAIN = join(import.meta.dirname, '..', '..', 'src', 'main.ts');
const NO_RATE_LIMITS = { RECON_RATE_LIMIT_MAX: '0' };

const bearer = (key: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${key}` },
});

async function waitDone(server: TestServer, key: string, runId: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { body } = await server.json(`/api/runs/${runId}`, bearer(key));
    if (['completed', 'failed', 'canceled'].includes(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${body.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const mode of STORE_MODES) {
  describe(`API keys (${mode})`, () => {
    let server: TestServer;
    let admin: string;
    let alice: { id: string; key: string };
    let bob: { id: string; key: string };
    let aliceRun: string;

    before(async () => {
      server = await startTestServer(mode, NO_RATE_LIMITS);
    });
    after(() => server?.close());

    test('a loopback server without keys is open to its local user, who may create the first key', async () => {
      assert.equal((await server.json('/api/runs')).status, 200);
      // Asked for an ordinary key, the first one is an admin key anyway: otherwise nobody could manage keys.
      const created = await server.json('/api/keys', jsonBody({ name: 'ops' }));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.match(created.body.key, /^recon_k/);
      assert.equal(created.body.admin, true);
      assert.equal(created.headers.get('cache-control'), 'no-store');
      admin = created.body.key;
    });

    test('once a key exists, every API route needs one; health and the OpenAPI document stay open', async () => {
      const refused = await server.json('/api/runs');
      assert.equal(refused.status, 401);
      assert.match(refused.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal((await server.json('/api/runs', bearer('recon_kaaaaaaaaaaaa_' + 'x'.repeat(43)))).status, 401, 'unknown key');
      assert.equal((await server.json('/api/runs', bearer('nonsense'))).status, 401, 'malformed key');
      assert.equal((await server.json('/api/keys', jsonBody({})))?.status, 401, 'no key, no key management');
      assert.equal((await server.fetch('/api/health')).status, 200);
      assert.equal((await server.fetch('/openapi.json')).status, 200);
      assert.equal((await server.json('/api/runs', bearer(admin))).status, 200);
    });

    test('admins create ordinary keys; ordinary keys cannot create keys and list only themselves', async () => {
      const a = await server.json('/api/keys', bearer(admin, jsonBody({ name: 'alice' })));
      const b = await server.json('/api/keys', bearer(admin, jsonBody({ name: 'bob' })));
      assert.equal(a.status, 201);
      assert.equal(a.body.admin, false);
      alice = { id: a.body.id, key: a.body.key };
      bob = { id: b.body.id, key: b.body.key };
      assert.equal((await server.json('/api/keys', bearer(alice.key, jsonBody({ name: 'mine' })))).status, 403);
      const listed = await server.json('/api/keys', bearer(alice.key));
      assert.deepEqual(listed.body.keys.map((k: { id: string }) => k.id), [alice.id]);
      const all = await server.json('/api/keys', bearer(admin));
      assert.equal(all.body.keys.length, 3);
      assert.ok(all.body.keys.every((k: Record<string, unknown>) => !('key' in k) && !('hash' in k)), 'never the key or its hash');
      assert.equal((await server.json(`/api/keys/${alice.id}`, bearer(bob.key, { method: 'DELETE' }))).status, 404);
      assert.equal((await server.fetch('/metrics', bearer(alice.key))).status, 403, '/metrics is for admins');
    });

    test("one key cannot read, list, upload to, download, stream, cancel, rerun or delete another key's run (404)", async () => {
      const created = await server.json('/api/runs', bearer(alice.key, jsonBody({ engine: 'test', settings: { stepMs: 5 } })));
      assert.equal(created.status, 201);
      aliceRun = created.body.runId;
      const form = multipart([{ name: 'a.jpg', data: await makeImage(0) }]);
      assert.equal((await server.json(`/api/runs/${aliceRun}/images`, bearer(bob.key, { method: 'POST', body: form }))).status, 404);
      const upload = await server.json(`/api/runs/${aliceRun}/images`, bearer(alice.key, { method: 'POST', body: multipart([{ name: 'a.jpg', data: await makeImage(0) }]) }));
      assert.equal(upload.status, 200);
      assert.equal((await server.json(`/api/runs/${aliceRun}/process`, bearer(bob.key, { method: 'POST' }))).status, 404);
      assert.equal((await server.json(`/api/runs/${aliceRun}/process`, bearer(alice.key, { method: 'POST' }))).status, 202);
      const done = await waitDone(server, alice.key, aliceRun);
      assert.equal(done.status, 'completed');
      assert.ok(done.artifacts.glb);

      const probes: [string, RequestInit][] = [
        [`/api/runs/${aliceRun}`, {}],
        [`/api/runs/${aliceRun}/artifacts/glb`, {}],
        [`/api/runs/${aliceRun}/cameras`, {}],
        [`/api/runs/${aliceRun}/predictions/metadata`, {}],
        [`/api/runs/${aliceRun}/stream`, {}],
        [`/api/runs/${aliceRun}/cancel`, { method: 'POST' }],
        [`/api/runs/${aliceRun}/rerun`, jsonBody({})],
        [`/api/runs/${aliceRun}`, { method: 'DELETE' }],
      ];
      for (const [path, init] of probes) {
        const response = await server.fetch(path, bearer(bob.key, init));
        assert.equal(response.status, 404, `${init.method ?? 'GET'} ${path}`);
        const body = await response.json();
        assert.ok(!JSON.stringify(body).includes(alice.id), 'the owner is not revealed');
      }
      // EventSource cannot send headers: the stream takes the key from the query, and still scopes it.
      const viaQuery = await server.fetch(`/api/runs/${aliceRun}/stream?api_key=${encodeURIComponent(alice.key)}`);
      assert.equal(viaQuery.status, 200);
      assert.match(await viaQuery.text(), /"status":"completed"/);
      assert.equal((await server.fetch(`/api/runs/${aliceRun}/stream?api_key=${encodeURIComponent(bob.key)}`)).status, 404);
      assert.equal((await server.fetch(`/api/runs/${aliceRun}?api_key=${encodeURIComponent(alice.key)}`)).status, 401, 'only streams take a query key');
      const bobs = await server.json('/api/runs', bearer(bob.key));
      assert.equal(bobs.body.total, 0);
      assert.equal((await server.fetch(`/api/runs/${aliceRun}/artifacts/glb`, bearer(alice.key))).status, 200);
      const alices = await server.json('/api/runs', bearer(alice.key));
      assert.deepEqual(alices.body.runs.map((r: { runId: string }) => r.runId), [aliceRun]);
    });

    test('an admin key sees and manages every run', async () => {
      assert.equal((await server.json(`/api/runs/${aliceRun}`, bearer(admin))).status, 200);
      const listed = await server.json('/api/runs', bearer(admin));
      assert.ok(listed.body.runs.some((r: { runId: string }) => r.runId === aliceRun));
    });

    test('a revoked key is refused at once', async () => {
      assert.equal((await server.json(`/api/keys/${bob.id}`, bearer(admin, { method: 'DELETE' }))).status, 204);
      assert.equal((await server.json('/api/runs', bearer(bob.key))).status, 401);
      assert.equal((await server.json(`/api/keys/${bob.id}`, bearer(admin, { method: 'DELETE' }))).status, 404, 'already revoked');
      const withRevoked = await server.json('/api/keys?revoked=true', bearer(admin));
      assert.ok(withRevoked.body.keys.find((k: { id: string }) => k.id === bob.id).revokedAt);
      assert.equal((await server.json(`/api/keys/${alice.id}`, bearer(alice.key, { method: 'DELETE' }))).status, 204, 'a key may revoke itself');
      assert.equal((await server.json('/api/runs', bearer(alice.key))).status, 401);
    });
  });
}

describe('serving beyond loopback', () => {
  test('start-up refuses to run open on a non-loopback address unless told to', async () => {
    await assert.rejects(startTestServer('pglite', { HOST: '0.0.0.0' }), /Refusing to serve on 0\.0\.0\.0 without API keys/);
    const insecure = await startTestServer('pglite', { HOST: '0.0.0.0', RECON_INSECURE_NO_AUTH: '1', ...NO_RATE_LIMITS });
    try {
      assert.equal((await insecure.json('/api/runs')).status, 200);
    } finally {
      await insecure.close();
    }
  });

  test('keys from RECON_API_KEYS are admin keys and make the server require them', async () => {
    const key = 'env-admin-key-0123456789abcdefghijklmnop';
    const server = await startTestServer('pglite', { HOST: '0.0.0.0', RECON_API_KEYS: key, ...NO_RATE_LIMITS });
    try {
      assert.equal((await server.json('/api/runs')).status, 401);
      assert.equal((await server.json('/api/runs', bearer(key))).status, 200);
      const listed = await server.json('/api/keys', bearer(key));
      assert.equal(listed.body.keys[0].source, 'environment');
    } finally {
      await server.close();
    }
  });
});

describe('recon keys (CLI)', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'recon-keys-cli-'));
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  const cli = (args: string[], env: Record<string, string> = {}) =>
    run(NODE, [MAIN, 'keys', ...args], { env: { ...process.env, RECON_DATA_DIR: dataDir, RECON_LOG_LEVEL: 'silent', ...env } });

  test('works on the data folder directly, then through the server holding it; --json prints the key once', async () => {
    // No --admin: the first key is an admin key all the same, and the command says why.
    const first = await cli(['create', '--name', 'root']);
    assert.match(first.stdout, /Created admin key k[a-z0-9]{12} \(root\)/);
    assert.match(first.stdout, /admin key because it is the first one/);
    const firstId = /key (k[a-z0-9]{12})/.exec(first.stdout)![1]!;
    await cli(['revoke', firstId]);
    const { stdout } = await cli(['create', '--admin', '--name', 'root', '--json']);
    const created = JSON.parse(stdout);
    assert.match(created.id, /^k[a-z0-9]{12}$/);
    assert.match(created.key, /^recon_/);

    const server = await startTestServer('pglite', NO_RATE_LIMITS, { dataDir });
    try {
      assert.equal((await server.json('/api/runs')).status, 401, 'the key made on disk is enforced');
      assert.equal((await server.json('/api/runs', bearer(created.key))).status, 200);
      const port = new URL(server.url).port;
      // The server holds the folder's lock, so the CLI goes through its API.
      const viaApi = await cli(['create', '--name', 'ci', '--json'], { PORT: port, RECON_API_KEY: created.key });
      const ci = JSON.parse(viaApi.stdout);
      assert.equal(ci.admin, false, 'later keys are ordinary unless asked');
      assert.equal((await server.json('/api/runs', bearer(ci.key))).status, 200);
      const listed = JSON.parse((await cli(['list', '--json'], { PORT: port, RECON_API_KEY: created.key })).stdout);
      assert.deepEqual(listed.keys.map((k: { id: string }) => k.id).sort(), [created.id, ci.id].sort());
      assert.ok(!JSON.stringify(listed).includes(ci.key), 'list never shows a key');
      await cli(['revoke', ci.id], { RECON_URL: server.url, RECON_API_KEY: created.key });
      assert.equal((await server.json('/api/runs', bearer(ci.key))).status, 401);
      await assert.rejects(cli(['create'], { PORT: port }), /401/, 'without a key the server refuses');
    } finally {
      await server.close();
    }
  });
});
