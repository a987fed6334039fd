import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { renderSyntheticScene, type SyntheticScene } from '../fixtures/synthetic-scene.ts';
import { comparePoses, poseFromExtrinsic } from '../fixtures/synthetic/pose-error.ts';
import { multipart } from '../helpers/images.ts';
import { jsonBody, startTestServer, type TestServer } from '../helpers/recon.ts';
import { waitForStatus } from '../helpers/runs.ts';

const run = promisify(execFile);

let server: TestServer;
let scene: SyntheticScene;
let sceneDir: string;
before(async () => {
  sceneDir = await mkdtemp(join(tmpdir(), 'recon-synthetic-'));
  scene = await renderSyntheticScene(sceneDir, { views: 8, seed: 7 });
  server = await startTestServer('pglite');
});
after(async () => {
  await server?.close();
  await rm(sceneDir, { recursive: true, force: true });
});

test('COLMAP through the full API recovers the synthetic cameras (centres < 1% of spread, rotations < 1°)', async () => {
  const created = await server.json('/api/runs', jsonBody({ engine: 'colmap', settings: { maxImageSize: 640 } }));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const runId = created.body.runId;
  const files = await Promise.all(scene.images.map(async (path) => ({ name: basename(path), data: await readFile(path) })));
  const uploaded = await server.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart(files) });
  assert.equal(uploaded.status, 200);
  await server.fetch(`/api/runs/${runId}/process`, { method: 'POST' });
  const done = await waitForStatus(server, runId, ['completed', 'failed'], 240_000);
  assert.equal(done.status, 'completed', done.error);
  assert.deepEqual(Object.keys(done.artifacts).sort(), ['colmap', 'glb', 'ply', 'predictions', 'preview']);

  const cameras = (await server.json(`/api/runs/${runId}/cameras`)).body;
  assert.equal(cameras.numFrames, scene.cameras.length, 'every image registered');
  assert.deepEqual(cameras.cameras.map((c: { imageName: string }) => c.imageName), scene.cameras.map((c) => c.name));
  const estimated = cameras.cameras.map((c: { extrinsic: number[][] }) => poseFromExtrinsic(c.extrinsic.flat()));
  const errors = comparePoses(estimated, scene.cameras.map((c) => poseFromExtrinsic(c.extrinsic)));
  const worstCentre = Math.max(...errors.centerErrors) / errors.spread;
  const worstRotation = Math.max(...errors.rotationErrors);
  assert.ok(worstCentre < 0.01, `centre error ${(worstCentre * 100).toFixed(3)}% of spread`);
  assert.ok(worstRotation < 1, `rotation error ${worstRotation.toFixed(3)}°`);
  for (const [i, camera] of cameras.cameras.entries()) {
    const K = scene.cameras[i]!.K;
    assert.ok(Math.abs(camera.intrinsic[0][0] - K[0]!) / K[0]! < 0.02, `focal length of ${camera.imageName}`);
  }

  const metadata = (await server.json(`/api/runs/${runId}/predictions/metadata`)).body;
  assert.equal(metadata.numCameras, scene.cameras.length);
  assert.ok(metadata.totalPoints > 500, `${metadata.totalPoints} points`);
  assert.deepEqual(metadata.keys.sort(), ['extrinsic', 'image_names', 'intrinsic', 'points', 'points_error', 'points_rgb']);

  // What the API serves loads in numpy without pickle, with the shapes it claims.
  const npzPath = join(sceneDir, 'predictions.npz');
  await writeFile(npzPath, Buffer.from(await (await server.fetch(done.artifacts.predictions)).arrayBuffer()));
  const { stdout } = await run('python3', [
    '-c',
    'import sys, json, numpy as np\nz = np.load(sys.argv[1], allow_pickle=False)\nprint(json.dumps({k: [list(z[k].shape), z[k].dtype.str] for k in z.files}))',
    npzPath,
  ]);
  const shapes = JSON.parse(stdout);
  assert.deepEqual(shapes.extrinsic, [[scene.cameras.length, 3, 4], '<f4']);
  assert.deepEqual(shapes.intrinsic, [[scene.cameras.length, 3, 3], '<f4']);
  assert.equal(shapes.points[0][0], metadata.totalPoints);
  assert.match(shapes.image_names[1], /^<U\d+$/);
});
