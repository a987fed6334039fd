import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { makeImage, multipart } from '../helpers/images.ts';
import { FILE_SETUPS, jsonBody, startTestServer, type TestServer } from '../helpers/recon.ts';

const LIMITS = { MAX_IMAGES: '4', MAX_FILE_BYTES: '20000', MAX_RUN_BYTES: '30000' };

for (const setup of FILE_SETUPS) {
  describe(`uploads and bad input (${setup.label})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(setup.store, LIMITS, { blobs: setup.blobs });
    });
    after(() => server?.close());

    const newRun = async () => (await server.json('/api/runs', jsonBody({ engine: 'test', settings: { stepMs: 1 } }))).body.runId as string;
    const upload = (runId: string, files: { name: string; data: Buffer | Uint8Array }[]) =>
      server.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart(files) });
    const storedFiles = async (runId: string) => (await server.recon.blobs.list(runId, 'images')).map((key) => key.slice('images/'.length)).sort();
    const expectProblem = (response: { status: number; body: any; headers: Headers }, status: number, detail: RegExp) => {
      assert.equal(response.status, status, JSON.stringify(response.body));
      assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal(response.body.status, status);
      assert.match(response.body.detail, detail);
    };
    const assertUnchanged = async (runId: string, images: string[]) => {
      const run = (await server.json(`/api/runs/${runId}`)).body;
      assert.deepEqual(run.images, images);
      assert.deepEqual(await storedFiles(runId), images);
      assert.deepEqual(await server.staged(), [], 'no staged leftovers');
    };

    test('JPEG, PNG, WebP and HEIC are accepted by content; names are made safe and unique', async () => {
      const runId = await newRun();
      const heic = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic'), Buffer.alloc(200, 7)]);
      const result = await upload(runId, [
        { name: '../../etc/passwd.jpg', data: await makeImage(1) },
        { name: 'photo', data: await makeImage(2, 'png') },
        { name: 'a\u0007b.webp', data: await makeImage(3, 'webp') },
        { name: 'C:\\Users\\me\\phone.HEIC', data: heic },
      ]);
      assert.equal(result.status, 200, JSON.stringify(result.body));
      assert.deepEqual(
        result.body.stored.map((s: { stored: string }) => s.stored),
        ['passwd.jpg', 'photo.png', 'ab.webp', 'phone.HEIC'],
      );
      assert.deepEqual(await storedFiles(runId), ['ab.webp', 'passwd.jpg', 'phone.HEIC', 'photo.png']);
    });

    test('duplicate names are resolved deterministically', async () => {
      const runId = await newRun();
      const first = await upload(runId, [{ name: 'x.jpg', data: await makeImage(1) }]);
      assert.equal(first.status, 200);
      const second = await upload(runId, [
        { name: 'x.jpg', data: await makeImage(2) },
        { name: 'x.jpg', data: await makeImage(3) },
      ]);
      assert.deepEqual(second.body.images, ['x-2.jpg', 'x-3.jpg', 'x.jpg']);
    });

    test('a non-image is refused with 415 naming the file, and nothing is kept', async () => {
      const runId = await newRun();
      await upload(runId, [{ name: 'keep.jpg', data: await makeImage(1) }]);
      const response = await upload(runId, [
        { name: 'good.jpg', data: await makeImage(2) },
        { name: 'notes.jpg', data: Buffer.from('this is plainly text, not a JPEG at all') },
      ]);
      expectProblem(response, 415, /"notes\.jpg" is not a JPEG, PNG, WebP or HEIC image/);
      await assertUnchanged(runId, ['keep.jpg']);
    });

    test('per-file and per-run byte limits give 413 naming the limit; count gives 422', async () => {
      const runId = await newRun();
      const big = Buffer.concat([await makeImage(1), Buffer.alloc(25_000)]);
      expectProblem(await upload(runId, [{ name: 'big.jpg', data: big }]), 413, /"big\.jpg" is larger than the limit of 20000 bytes per file/);
      await assertUnchanged(runId, []);

      const medium = Buffer.concat([await makeImage(1), Buffer.alloc(12_000)]);
      const overRun = await upload(runId, [
        { name: 'm1.jpg', data: medium },
        { name: 'm2.jpg', data: medium },
        { name: 'm3.jpg', data: medium },
      ]);
      expectProblem(overRun, 413, /limit of bytes per run/);
      assert.equal(overRun.body.limit, 'maxRunBytes');
      await assertUnchanged(runId, []);

      const small = await makeImage(1);
      const five = Array.from({ length: 5 }, (_, i) => ({ name: `s${i}.jpg`, data: small }));
      const tooMany = await upload(runId, five);
      expectProblem(tooMany, 422, /limit of 4 images per run/);
      assert.equal(tooMany.body.limit, 'maxImages');
      await assertUnchanged(runId, []);
    });

    test('an aborted upload leaves no partial file and does not change the run', async () => {
      const runId = await newRun();
      const boundary = 'reconboundary';
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="images"; filename="half.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
      await new Promise<void>((resolve) => {
        const req = httpRequest(new URL(`/api/runs/${runId}/images`, server.url), {
          method: 'POST',
          headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': '100000' },
        });
        req.on('error', () => resolve());
        req.write(head);
        req.write(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(5000)]));
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 200);
      });
      await new Promise((r) => setTimeout(r, 200));
      await assertUnchanged(runId, []);
      assert.equal((await server.json(`/api/runs/${runId}`)).body.status, 'queued');
    });

    test('state and request errors: 400, 404, 409, 415, 422', async () => {
      expectProblem(await server.json('/api/runs', jsonBody({ settings: { confThreshold: 101 }, engine: 'test' })), 400, /Invalid settings.*test/);
      expectProblem(await server.json('/api/runs', jsonBody({ engine: 'nope' })), 400, /Engine "nope" is not available/);
      expectProblem(await server.json('/api/runs', jsonBody({ engine: 'test', surprise: 1 })), 400, /Invalid request/);
      expectProblem(
        await server.json('/api/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"settings":' }),
        400,
        /JSON/i,
      );
      expectProblem(await server.json('/api/runs/run_1700000000000_zzzzzzzz'), 404, /does not exist/);
      expectProblem(await server.json('/api/runs/..%2F..%2Fetc'), 404, /does not exist/);
      expectProblem(await server.json('/api/nothing-here'), 404, /No route/);

      const runId = await newRun();
      expectProblem(await server.json(`/api/runs/${runId}/process`, { method: 'POST' }), 422, /has no images/);
      expectProblem(
        await server.json(`/api/runs/${runId}/images`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
        415,
        /multipart\/form-data/,
      );
      expectProblem(await server.json(`/api/runs/${runId}/images`, { method: 'POST', body: new FormData() }), 400, /No image files/);
      await upload(runId, [{ name: 'a.jpg', data: await makeImage(1) }]);
      const first = await server.json(`/api/runs/${runId}/process`, { method: 'POST' });
      assert.equal(first.status, 202);
      expectProblem(await server.json(`/api/runs/${runId}/process`, { method: 'POST' }), 409, /already processing/);
      expectProblem(await upload(runId, [{ name: 'late.jpg', data: await makeImage(2) }]), 409, /images can only be added before processing/);
    });
  });
}
