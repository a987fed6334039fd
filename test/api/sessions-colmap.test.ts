import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { startTestServer, type TestServer } from '../helpers/recon.ts';
import { type Msg, openSocket } from '../sessions/socket.ts';

const validator = createRequire(import.meta.url)('gltf-validator') as {
  validateBytes(data: Uint8Array): Promise<{ issues: { numErrors: number; numWarnings: number; messages: unknown[] } }>;
};

const PHOTOS = join(import.meta.dirname, '../../demo/photos');

let server: TestServer;
before(async () => {
  server = await startTestServer('pglite');
});
after(() => server?.close());

async function validGlb(message: Msg) {
  const bytes = Buffer.from(message.glb_base64, 'base64');
  assert.equal(message.metadata.glb_size_bytes, bytes.length);
  const report = await validator.validateBytes(new Uint8Array(bytes));
  assert.equal(report.issues.numErrors, 0, JSON.stringify(report.issues.messages.slice(0, 3)));
  return report;
}

test('a full session over a real WebSocket with COLMAP on real photos: delta after the first batch, complete after finalize', async () => {
  const names = (await readdir(PHOTOS)).filter((n) => n.endsWith('.jpg')).sort().slice(0, 4);
  // Herz-Jesu-P8 (demo/photos), scaled to 800 px so COLMAP on two CPU cores stays quick.
  const photos = await Promise.all(
    names.map(async (name) => ({ name, data: await sharp(join(PHOTOS, name)).resize({ width: 800 }).jpeg({ quality: 90 }).toBuffer() })),
  );
  const created = await server.json('/ws/session/create?engine=colmap&max_images=10&conf_thresh_percentile=0', { method: 'POST' });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const id = created.body.session_id;
  assert.equal(created.body.engine, 'colmap');

  const socket = await openSocket(server, id);
  assert.equal((await socket.next()).type, 'connected');
  const send = async (photo: { name: string; data: Buffer }) => {
    socket.send({ type: 'image', data: photo.data.toString('base64'), filename: photo.name });
    return socket.next('ack');
  };

  const t0 = Date.now();
  // COLMAP needs two registered photos with enough parallax; three give it a good start.
  await send(photos[0]!);
  await send(photos[1]!);
  assert.equal((await send(photos[2]!)).image_count, 3);
  socket.send({ type: 'generate', incremental: true });
  const delta = await socket.next('delta', 300_000);
  const tDelta = Date.now() - t0;
  assert.equal(delta.image_count, 3);
  assert.ok(delta.metadata.num_frames >= 2, `${delta.metadata.num_frames} of 3 photos registered`);
  const deltaReport = await validGlb(delta);
  const stages = new Set(socket.received.filter((m) => m.type === 'progress').map((m) => m.stage));
  assert.deepEqual([...stages], ['loading_model', 'inference', 'exporting', 'finalizing']);

  assert.equal((await send(photos[3]!)).image_count, 4);
  socket.send({ type: 'finalize' });
  const complete = await socket.next('complete', 300_000);
  const tComplete = Date.now() - t0;
  assert.equal(complete.image_count, 4);
  assert.equal(complete.metadata.num_frames, 4, 'all four photos registered');
  const completeReport = await validGlb(complete);
  assert.equal(complete.metadata.intrinsics.length, 4);
  assert.equal(complete.metadata.extrinsics.length, 4);
  assert.ok(complete.metadata.intrinsics[0][0][0] > 100, 'a plausible focal length in pixels');
  assert.deepEqual(complete.metadata.image_names, names);
  assert.notEqual(complete.metadata.run_id, delta.metadata.run_id);

  const run = (await server.json(`/api/runs/${complete.metadata.run_id}`)).body;
  assert.equal(run.status, 'completed');
  assert.equal(run.engine, 'colmap');
  assert.equal((await server.json(`/ws/session/${id}`)).body.status, 'completed');
  await socket.close();
  console.log(
    `COLMAP session: delta after ${(tDelta / 1000).toFixed(1)} s (${delta.metadata.glb_size_bytes} B GLB, ${deltaReport.issues.numWarnings} warnings), ` +
      `complete after ${(tComplete / 1000).toFixed(1)} s (${complete.metadata.glb_size_bytes} B GLB, ${completeReport.issues.numWarnings} warnings)`,
  );
});
