import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { quaternionToRotation } from '../../src/formats/geometry.ts';
import { buildSceneGlb } from '../../src/formats/glb-scene.ts';
import { renderPreview } from '../../src/postprocess/preview.ts';

const OPTIONS = { confThreshold: 0, maskBlackBg: false, maskWhiteBg: false, showCameras: true };

/** A camera turned and moved away from the origin, so the scene's alignment is not trivial. */
function firstCamera(): number[] {
  const r = quaternionToRotation([0.95, 0.1, -0.2, 0.05].map((v, _, a) => v / Math.hypot(...a)));
  const t = [0.3, -0.2, 1.5];
  return [r[0]!, r[1]!, r[2]!, t[0]!, r[3]!, r[4]!, r[5]!, t[1]!, r[6]!, r[7]!, r[8]!, t[2]!];
}

/** World point whose camera-frame coordinates are `c` (inverse of c = R·p + t). */
function worldPoint(e: number[], c: [number, number, number]): number[] {
  const d = [c[0] - e[3]!, c[1] - e[7]!, c[2] - e[11]!];
  return [0, 1, 2].map((col) => e[col]! * d[0]! + e[4 + col]! * d[1]! + e[8 + col]! * d[2]!);
}

async function pixel(jpeg: Buffer, x: number, y: number): Promise<[number, number, number]> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const o = (y * info.width + x) * info.channels;
  return [data[o]!, data[o + 1]!, data[o + 2]!];
}

const near = (actual: number[], expected: number[], tolerance = 40) =>
  assert.ok(actual.every((v, i) => Math.abs(v - expected[i]!) <= tolerance), `${actual} ≉ ${expected}`);

test("points land where the first camera's intrinsics project them, nearer points hide farther ones", async () => {
  const e = firstCamera();
  const k = { fx: 100, fy: 100, cx: 80, cy: 60 };
  // Camera-frame positions: red at the upper left, blue right behind it, green at the lower right,
  // and yellow behind the camera (must not show).
  const cam: [number, number, number][] = [
    [-1, -0.6, 4],
    [-2, -1.2, 8],
    [1.2, 0.9, 5],
    [0, 0, -3],
  ];
  const colors = [
    [255, 0, 0],
    [0, 0, 255],
    [0, 255, 0],
    [255, 255, 0],
  ];
  const positions = Float32Array.from(cam.flatMap((c) => worldPoint(e, c)));
  const { glb } = await buildSceneGlb(
    { positions, colors: Uint8Array.from(colors.flat()) },
    [{ extrinsic: e }, { extrinsic: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0] }],
    OPTIONS,
  );
  const preview = await renderPreview(glb, { width: 320, intrinsics: k, background: [0, 0, 0] });
  assert.equal(preview.width, 320);
  assert.equal(preview.height, 240, 'aspect from cx:cy');
  assert.equal(preview.drawn, 3, 'the point behind the camera is not drawn');
  const meta = await sharp(preview.jpeg).metadata();
  assert.equal(meta.format, 'jpeg');
  // Scaled ×2 (width 320 for cx 80): u = 2·(fx·x/z + cx).
  const at = (c: [number, number, number]) => [Math.floor(2 * ((k.fx * c[0]) / c[2] + k.cx)), Math.floor(2 * ((k.fy * c[1]) / c[2] + k.cy))] as const;
  near(await pixel(preview.jpeg, ...at(cam[0]!)), [255, 0, 0]);
  near(await pixel(preview.jpeg, ...at(cam[2]!)), [0, 255, 0]);
  near(await pixel(preview.jpeg, 160, 120), [0, 0, 0], 20);
  near(await pixel(preview.jpeg, 5, 235), [0, 0, 0], 20);
});

test('without intrinsics the view is fitted to the points', async () => {
  const count = 2000;
  const positions = new Float32Array(count * 3);
  for (let i = 0; i < count; i++) positions.set([Math.sin(i) * 2, Math.cos(i * 1.3) * 1.5, 6 + Math.sin(i * 0.7)], i * 3);
  const { glb } = await buildSceneGlb(
    { positions, colors: new Uint8Array(count * 3).fill(220) },
    [{ extrinsic: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0] }],
    OPTIONS,
  );
  const preview = await renderPreview(glb, { width: 200 });
  assert.equal(preview.height, 150);
  assert.ok(preview.drawn >= count * 0.9, `${preview.drawn} of ${count} points inside the view`);
});

test('a GLB without points renders an empty background rather than failing', async () => {
  const { glb } = await buildSceneGlb({ positions: new Float32Array(0), colors: new Uint8Array(0) }, [], OPTIONS);
  const preview = await renderPreview(glb, { width: 64 });
  assert.equal(preview.drawn, 0);
});
