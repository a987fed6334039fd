import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { type ColmapModel, writeColmapModelText } from '../../src/formats/colmap-model.ts';
import { nearestDistances } from '../../src/splat/initialize.ts';
import { cameraCenter, gaussiansFromPoints, loadColmapScene, resolveSplatSettings, splitViews } from '../../src/splat/index.ts';
import { SH_C0 } from '../../src/splat/sh.ts';

const dir = await mkdtemp(join(tmpdir(), 'splat-scene-'));
after(() => rm(dir, { recursive: true, force: true }));

function model(cameraModel: string, params: number[]): ColmapModel {
  return {
    cameras: new Map([[1, { id: 1, model: cameraModel, width: 80, height: 60, params }]]),
    images: new Map(
      ['b.png', 'a.png'].map((name, i) => [i + 1, { id: i + 1, qvec: [1, 0, 0, 0] as [number, number, number, number], tvec: [i, 0, 2] as [number, number, number], cameraId: 1, name, points2D: [] }]),
    ),
    points3D: new Map([
      [1, { id: 1, xyz: [0, 0, 0] as [number, number, number], rgb: [255, 128, 0] as [number, number, number], error: 0, track: [] }],
      [2, { id: 2, xyz: [1, 0, 0] as [number, number, number], rgb: [0, 0, 0] as [number, number, number], error: 0, track: [] }],
    ]),
  };
}

test('an undistorted COLMAP model becomes views at the working width and seed points', async () => {
  const modelDir = join(dir, 'pinhole');
  await mkdir(modelDir);
  await writeColmapModelText(modelDir, model('PINHOLE', [100, 90, 40, 30]));
  for (const [name, red] of [['a.png', 255], ['b.png', 0]] as const) {
    await sharp({ create: { width: 80, height: 60, channels: 3, background: { r: red, g: 0, b: 51 } } }).png().toFile(join(dir, name));
  }
  const scene = await loadColmapScene(modelDir, dir, { width: 40 });
  assert.deepEqual(scene.views.map((v) => v.name), ['a.png', 'b.png']);
  const [a, b] = scene.views as [(typeof scene.views)[0], (typeof scene.views)[0]];
  assert.deepEqual({ ...a.camera, rotation: undefined, translation: undefined }, { width: 40, height: 30, fx: 50, fy: 45, cx: 20, cy: 15, rotation: undefined, translation: undefined });
  assert.deepEqual(cameraCenter(b.camera), [-0, -0, -2]);
  assert.deepEqual(cameraCenter(a.camera), [-1, -0, -2]);
  assert.equal(a.image.length, 40 * 30 * 3);
  assert.ok(Math.abs(a.image[0]! - 1) < 1e-6 && Math.abs(a.image[2]! - 0.2) < 1e-6, 'RGB in 0..1');
  assert.ok(Math.abs(b.image[0]!) < 1e-6);
  assert.deepEqual(Array.from(scene.points.positions), [0, 0, 0, 1, 0, 0]);
  assert.deepEqual(Array.from(scene.points.colors), [255, 128, 0, 0, 0, 0]);
});

test('a distorted camera model is refused with the fix', async () => {
  const modelDir = join(dir, 'radial');
  await mkdir(modelDir);
  await writeColmapModelText(modelDir, model('SIMPLE_RADIAL', [100, 40, 30, 0.01]));
  await assert.rejects(loadColmapScene(modelDir, dir, { width: 40 }), /SIMPLE_RADIAL.*image_undistorter/);
});

test('Gaussians start at the points with SH colour, nearest-neighbour scale, identity rotation', () => {
  const cloud = gaussiansFromPoints({ positions: [0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4], colors: [255, 0, 128, 0, 0, 0, 0, 0, 0, 0, 0, 0] }, { shDegree: 3, opacity: 0.1, scale: 1 });
  assert.equal(cloud.count, 4);
  // Point 0's neighbours are at 2, 3, 4: RMS √((4 + 9 + 16)/3).
  assert.ok(Math.abs(Math.exp(cloud.logScales[0]!) - Math.sqrt(29 / 3)) < 1e-5);
  assert.ok(Math.abs(cloud.sh0[0]! * SH_C0 + 0.5 - 1) < 1e-6);
  assert.deepEqual([...cloud.quats.subarray(0, 4)], [1, 0, 0, 0]);
  assert.ok(Math.abs(1 / (1 + Math.exp(-cloud.opacities[0]!)) - 0.1) < 1e-6);
  assert.equal(cloud.shN.length, 4 * 45);
});

test('nearest distances from the grid agree with brute force', () => {
  const xyz: number[] = [];
  let seed = 1;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return (seed / 2147483647) * 10;
  };
  for (let i = 0; i < 600; i++) xyz.push(random(), random() * 0.2, random());
  const fast = nearestDistances(xyz, 3);
  for (let i = 0; i < 600; i += 37) {
    const d = [];
    for (let j = 0; j < 600; j++) if (j !== i) d.push((xyz[3 * i]! - xyz[3 * j]!) ** 2 + (xyz[3 * i + 1]! - xyz[3 * j + 1]!) ** 2 + (xyz[3 * i + 2]! - xyz[3 * j + 2]!) ** 2);
    d.sort((p, q) => p - q);
    assert.ok(Math.abs(fast[i]! - Math.sqrt((d[0]! + d[1]! + d[2]!) / 3)) < 1e-9, `point ${i}`);
  }
});

test('every 8th view by name is held out', () => {
  const views = Array.from({ length: 17 }, (_, i) => ({ name: `img${String(16 - i).padStart(2, '0')}.jpg` }));
  const { train, test: held } = splitViews(views);
  assert.deepEqual(held.map((v) => v.name), ['img00.jpg', 'img08.jpg', 'img16.jpg']);
  assert.equal(train.length, 14);
  assert.ok(!train.some((v) => held.includes(v)));
});

test('settings fill from the preset, overrides win, bad values are refused', () => {
  const quick = resolveSplatSettings({ preset: 'quick', iterations: 10 });
  assert.equal(quick.iterations, 10);
  assert.equal(quick.width, 300);
  assert.equal(quick.lrMeans, 1.6e-4);
  const standard = resolveSplatSettings();
  assert.equal(standard.preset, 'standard');
  assert.equal(standard.iterations, 7000);
  assert.throws(() => resolveSplatSettings({ shDegree: 4 }), /shDegree/);
  assert.throws(() => resolveSplatSettings({ learningRate: 1 }), /learningRate/);
  assert.throws(() => resolveSplatSettings({ refineStart: 10, refineStop: 5 }), /refineStop/);
});
