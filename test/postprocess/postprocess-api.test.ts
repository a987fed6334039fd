import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { makeImage, multipart } from '../helpers/images.ts';
import { FILE_SETUPS, jsonBody, startTestServer, type TestServer } from '../helpers/recon.ts';
import { waitForStatus } from '../helpers/runs.ts';

for (const setup of FILE_SETUPS) {
  describe(`post-processing after a successful run (${setup.label})`, () => {
    let server: TestServer;
    let runId: string;
    before(async () => {
      server = await startTestServer(setup.store, { RECON_COMPRESS_GLB_BYTES: '0', RECON_PREVIEW_WIDTH: '320' }, { blobs: setup.blobs });
      const created = await server.json('/api/runs', jsonBody({ engine: 'test', settings: { stepMs: 5 } }));
      runId = created.body.runId;
      const images = await Promise.all([0, 1, 2].map(async (i) => ({ name: `img${i}.jpg`, data: await makeImage(i, 'jpeg', 400) })));
      assert.equal((await server.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart(images) })).status, 200);
      assert.equal((await server.json(`/api/runs/${runId}/process`, { method: 'POST' })).status, 202);
      const done = await waitForStatus(server, runId, ['completed', 'failed']);
      assert.equal(done.status, 'completed', done.error);
    });
    after(() => server?.close());

    test('a preview JPEG rendered from the first camera, and a compressed GLB next to the original', async () => {
      const { body: run } = await server.json(`/api/runs/${runId}`);
      assert.deepEqual(Object.keys(run.artifacts).sort(), ['glb', 'glb-compressed', 'predictions', 'preview']);
      const preview = await server.fetch(run.artifacts.preview);
      assert.equal(preview.status, 200);
      assert.equal(preview.headers.get('content-type'), 'image/jpeg');
      const meta = await sharp(Buffer.from(await preview.arrayBuffer())).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.equal(meta.width, 320);
      const original = await server.fetch(run.artifacts.glb);
      const compressed = await server.fetch(run.artifacts['glb-compressed']);
      assert.equal(compressed.headers.get('content-type'), 'model/gltf-binary');
      const [a, b] = [Buffer.from(await original.arrayBuffer()), Buffer.from(await compressed.arrayBuffer())];
      assert.equal(b.subarray(0, 4).toString(), 'glTF');
      assert.ok(b.length < a.length, `${b.length} < ${a.length}`);
    });

    test('GLB metadata is stored with the run', async () => {
      const { body: run } = await server.json(`/api/runs/${runId}`);
      const m = run.glbMetadata;
      assert.ok(m, 'glbMetadata in the run view');
      assert.equal(m.points, 1000, 'the test engine writes a 10×10×10 cube of points');
      assert.ok(m.vertices > m.points, 'camera frustums add vertices');
      assert.ok(m.nodes >= 2 && m.materials >= 1);
      assert.equal(m.bounds.min.length, 3);
      assert.ok(m.bytes > 0);
    });

    test('thumbnails of the inputs, 256 px, served per image name', async () => {
      const response = await server.fetch(`/api/runs/${runId}/thumbnails/img1.jpg`);
      assert.equal(response.status, 200);
      const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
      assert.equal(meta.width, 256);
      assert.equal((await server.fetch(`/api/runs/${runId}/thumbnails/nope.jpg`)).status, 404);
      assert.equal((await server.fetch(`/api/runs/${runId}/thumbnails/..%5C..%5Cmetadata.json`)).status, 400, 'no path tricks');
    });
  });
}
