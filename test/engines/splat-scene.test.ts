import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSplatSceneEngine, splatSceneSettings } from '../../src/engines/splat-scene/index.ts';
import { readColmapModel } from '../../src/formats/colmap-model.ts';
import { writeNpz } from '../../src/formats/npz.ts';
import { unzipToFolder } from '../../src/formats/unzip-folder.ts';
import { loadColmapScene } from '../../src/splat/index.ts';
import { createFakeContext } from '../fixtures/synthetic/fake-context.ts';

const f4 = (shape: number[], data: Float32Array) => ({ dtype: '<f4', shape, fortranOrder: false, data });

test('VGGT/DA3 predictions become a splat scene: their pinhole cameras, their images, the confident dense points', async () => {
  // Three 16×12 views looking down +z from x = -1, 0, 1 (OpenCV camera-from-world), every pixel 4 m away.
  const [S, H, W] = [3, 12, 16];
  const extrinsic = new Float32Array(S * 12);
  const intrinsic = new Float32Array(S * 9);
  const images = new Float32Array(S * 3 * H * W);
  const points = new Float32Array(S * H * W * 3);
  const conf = new Float32Array(S * H * W);
  for (let s = 0; s < S; s++) {
    extrinsic.set([1, 0, 0, -(s - 1), 0, 1, 0, 0, 0, 0, 1, 0], s * 12);
    intrinsic.set([20, 0, 8, 0, 21, 6, 0, 0, 1], s * 9);
    for (let p = 0; p < H * W; p++) {
      const [u, v] = [p % W, Math.floor(p / W)];
      for (let c = 0; c < 3; c++) images[(s * 3 + c) * H * W + p] = (c + 1) / 4;
      points.set([s - 1 + ((u - 8) * 4) / 20, ((v - 6) * 4) / 21, 4], (s * H * W + p) * 3);
      conf[s * H * W + p] = p % 2 ? 5 : 1.5;
    }
  }
  const run = await createFakeContext(['/in/b.jpg', '/in/a.jpg', '/in/c.jpg'], splatSceneSettings.parse({ maxPoints: 100, confPercentile: 50 }));
  const npz = join(run.root, 'predictions.npz');
  await writeNpz(npz, {
    extrinsic: f4([S, 3, 4], extrinsic),
    intrinsic: f4([S, 3, 3], intrinsic),
    images: f4([S, 3, H, W], images),
    world_points: f4([S, H, W, 3], points),
    world_points_conf: f4([S, H, W], conf),
  });
  run.ctx.artifacts = { predictions: npz };
  try {
    await createSplatSceneEngine().run(run.ctx);
    const zip = run.artifacts.get('splat-scene');
    assert.ok(zip, 'splat-scene.zip stored');
    const dir = join(run.root, 'unzipped');
    const names = await unzipToFolder(zip, dir);
    assert.deepEqual(names.filter((n) => n.startsWith('images/')).sort(), ['images/a.png', 'images/b.png', 'images/c.png'], 'the frames, named after the sorted inputs VGGT saw');
    const model = await readColmapModel(join(dir, 'sparse'));
    for (const camera of model.cameras.values()) {
      assert.equal(camera.model, 'PINHOLE');
      assert.deepEqual([camera.width, camera.height, ...camera.params], [W, H, 20, 21, 8, 6]);
    }
    assert.equal(model.points3D.size, 100, 'at most maxPoints');
    for (const point of model.points3D.values()) assert.ok(Math.abs(point.xyz[2] - 4) < 1e-5 && point.rgb[0] === 64 && point.rgb[2] === 191);
    const scene = await loadColmapScene(join(dir, 'sparse'), join(dir, 'images'), { width: W });
    assert.deepEqual(
      scene.views.map((v) => [v.name, v.camera.translation[0] + 0]),
      [
        ['a.png', 1],
        ['b.png', 0],
        ['c.png', -1],
      ],
      'the cameras keep the predictions’ world frame',
    );
    assert.ok(Math.abs(scene.views[0]!.image[0]! - 0.25) < 0.01, 'the images are the predictions’ own');
  } finally {
    await rm(run.root, { recursive: true, force: true });
  }
});
