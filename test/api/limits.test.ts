import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeImage, multipart } from '../helpers/images.ts';
import { jsonBody, STORE_MODES, startTestServer, type TestServer } from '../helpers/recon.ts';

const bearer = (key: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${key}` },
});

type Problem = { status: number; limit?: string; value?: number; freeBytes?: number };

async function expectProblem(response: { status: number; body: Problem; headers: Headers }, status: number, limit: string, value?: number) {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
  assert.equal(response.body.status, status);
  assert.equal(response.body.limit, limit, JSON.stringify(response.body));
  if (value !== undefined) assert.equal(response.body.value, value);
}

for (const mode of STORE_MODES) {
  describe(`limits (${mode})`, () => {
    let server: TestServer;
    let admin: string;
    const small: Buffer[] = [];
    let big: Buffer;
    let medium: Buffer;
    let maxFileBytes: number;
    let maxRunBytes: number;

    const newKey = async () => (await server.json('/api/keys', bearer(admin, jsonBody({})))).body.key as string;
    const newRun = async (key: string, settings: Record<string, unknown> = { stepMs: 5 }) => {
      const created = await server.json('/api/runs', bearer(key, jsonBody({ engine: 'test', settings })));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return created.body.runId as string;
    };
    const upload = (key: string, runId: string, files: Buffer[]) =>
      server.json(`/api/runs/${runId}/images`, bearer(key, { method: 'POST', body: multipart(files.map((data, i) => ({ name: `i${i}.jpg`, data }))) }));

    before(async () => {
      for (let i = 0; i < 4; i++) small.push(await makeImage(i, 'jpeg', 32));
      big = await makeImage(9, 'png', 256);
      const largestSmall = Math.max(...small.map((s) => s.length));
      maxFileBytes = largestSmall * 3;
      assert.ok(big.length > maxFileBytes);
      maxRunBytes = Math.floor(largestSmall * 3.5);
      // A real JPEG padded with trailing bytes: under the per-file limit, but two of them are over the per-run one.
      medium = Buffer.concat([small[0]!, Buffer.alloc(2 * largestSmall - small[0]!.length)]);
      server = await startTestServer(mode, {
        MAX_IMAGES: '3',
        MAX_FILE_BYTES: String(maxFileBytes),
        MAX_RUN_BYTES: String(maxRunBytes),
        MAX_QUEUED_RUNS_PER_KEY: '1',
        RECON_MAX_RUN_SECONDS: '2',
        RECON_RATE_LIMIT_MAX: '8',
        RECON_RATE_LIMIT_RUNS_PER_HOUR: '3',
      });
      admin = (await server.json('/api/keys', jsonBody({ admin: true }))).body.key;
    });
    after(() => server?.close());

    test('GET /api/limits lists every limit with its value and status', async () => {
      const { status, body } = await server.json('/api/limits', bearer(admin));
      assert.equal(status, 200);
      const byName = Object.fromEntries(body.limits.map((l: { name: string }) => [l.name, l]));
      assert.deepEqual(
        Object.keys(byName).sort(),
        ['maxFileBytes', 'maxImages', 'maxQueuedRunsPerKey', 'maxRunBytes', 'maxRunSeconds', 'minFreeDiskBytes', 'rateLimit', 'runsPerHour'],
      );
      assert.deepEqual([byName.maxImages.value, byName.maxImages.status], [3, 422]);
      assert.deepEqual([byName.maxFileBytes.value, byName.maxFileBytes.status], [maxFileBytes, 413]);
      assert.deepEqual([byName.maxRunBytes.value, byName.maxRunBytes.status], [maxRunBytes, 413]);
      assert.deepEqual([byName.maxQueuedRunsPerKey.value, byName.maxQueuedRunsPerKey.status], [1, 429]);
      assert.deepEqual([byName.maxRunSeconds.value, byName.maxRunSeconds.status], [2, null]);
      assert.equal(byName.minFreeDiskBytes.status, 507);
      assert.deepEqual([byName.rateLimit.value, byName.runsPerHour.value], [8, 3]);
      assert.ok(body.freeDiskBytes > 0);
    });

    test('images per run → 422, bytes per file → 413, bytes per run → 413, each naming its limit', async () => {
      const key = await newKey();
      const runId = await newRun(key);
      await expectProblem(await upload(key, runId, small.slice(0, 4)), 422, 'maxImages', 3);
      await expectProblem(await upload(key, runId, [big]), 413, 'maxFileBytes', maxFileBytes);
      await expectProblem(await upload(key, runId, [medium, medium]), 413, 'maxRunBytes', maxRunBytes);
      const { body: run } = await server.json(`/api/runs/${runId}`, bearer(key));
      assert.deepEqual(run.images, [], 'nothing half-written');
    });

    test('queued runs per key → 429; the maximum run time fails the run with that reason', async () => {
      const key = await newKey();
      const slow = await newRun(key, { steps: 100, stepMs: 100 });
      const next = await newRun(key);
      for (const runId of [slow, next]) assert.equal((await upload(key, runId, [small[0]!])).status, 200);
      assert.equal((await server.json(`/api/runs/${slow}/process`, bearer(key, { method: 'POST' }))).status, 202);
      await expectProblem(await server.json(`/api/runs/${next}/process`, bearer(key, { method: 'POST' })), 429, 'maxQueuedRunsPerKey', 1);

      const deadline = Date.now() + 20_000;
      let run: { status: string; error?: string; errorHint?: string };
      do {
        await new Promise((r) => setTimeout(r, 200));
        run = (await server.json(`/api/runs/${slow}`, bearer(admin))).body;
      } while (run.status !== 'failed' && Date.now() < deadline);
      assert.equal(run.status, 'failed');
      assert.match(run.error ?? '', /exceeded the maximum run time of 2 s/);
      assert.match(run.errorHint ?? '', /RECON_MAX_RUN_SECONDS/);
      assert.equal((await server.json(`/api/runs/${next}/process`, bearer(key, { method: 'POST' }))).status, 202, 'room again');
    });

    test('the global rate limit per key → 429 with Retry-After and RateLimit-* headers; other keys and admins are unaffected', async () => {
      const key = await newKey();
      const other = await newKey();
      for (let i = 0; i < 8; i++) {
        const ok = await server.json('/api/runs', bearer(key));
        assert.equal(ok.status, 200);
        assert.equal(ok.headers.get('ratelimit-limit'), '8');
        assert.equal(ok.headers.get('ratelimit-remaining'), String(7 - i));
      }
      const limited = await server.json('/api/runs', bearer(key));
      await expectProblem(limited, 429, 'rateLimit', 8);
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
      assert.equal(limited.headers.get('ratelimit-remaining'), '0');
      assert.ok(Number(limited.headers.get('ratelimit-reset')) > 0);
      assert.equal((await server.json('/api/runs', bearer(other))).status, 200, 'counted per key');
      for (let i = 0; i < 10; i++) assert.equal((await server.json('/api/runs', bearer(admin))).status, 200, 'admins are not limited');
      assert.equal((await server.fetch('/api/health')).status, 200);
    });

    test('run creation per hour → 429 naming runsPerHour, stricter than the global limit', async () => {
      const key = await newKey();
      for (let i = 0; i < 3; i++) await newRun(key);
      const limited = await server.json('/api/runs', bearer(key, jsonBody({ engine: 'test' })));
      await expectProblem(limited, 429, 'runsPerHour', 3);
      assert.ok(Number(limited.headers.get('retry-after')) > 3000, 'an hour window');
    });
  });
}

describe('limits without keys, beyond loopback', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('pglite', {
      HOST: '0.0.0.0',
      RECON_INSECURE_NO_AUTH: '1',
      RECON_RATE_LIMIT_MAX: '4',
      RECON_MIN_FREE_DISK_BYTES: String(2 ** 52),
    });
  });
  after(() => server?.close());

  test('uploads below the free-disk floor → 507; the rate limit applies per IP', async () => {
    const created = await server.json('/api/runs', jsonBody({ engine: 'test' }));
    assert.equal(created.status, 201);
    const form = multipart([{ name: 'a.jpg', data: await makeImage(0) }]);
    const refused = await server.json(`/api/runs/${created.body.runId}/images`, { method: 'POST', body: form });
    await expectProblem(refused, 507, 'minFreeDiskBytes', 2 ** 52);
    assert.ok(refused.body.freeBytes > 0);
    // The upload counted; run creation has its own (hourly) limit and did not.
    for (let i = 0; i < 3; i++) assert.equal((await server.json('/api/runs')).status, 200);
    await expectProblem(await server.json('/api/runs'), 429, 'rateLimit', 4);
  });
});
