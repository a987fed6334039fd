import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import {
  from3x4,
  invertRigid4,
  multiply4,
  percentiles,
  quaternionToRotation,
  rotationToQuaternion,
  umeyamaAlignment,
} from "../../src/formats/geometry.ts";

const run = promisify(execFile);

async function numpy<T>(script: string, input: unknown): Promise<T> {
  const { stdout } = await run("python3", ["-c", `import json, sys, numpy as np\ndata = json.loads(sys.argv[1])\n${script}`, JSON.stringify(input)]);
  return JSON.parse(stdout) as T;
}

function assertClose(actual: readonly number[], expected: readonly number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  for (const [i, v] of actual.entries()) assert.ok(Math.abs(v - expected[i]!) <= tolerance, `${what}[${i}]: ${v} vs ${expected[i]}`);
}

function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

test("percentiles match numpy's linear interpolation", async () => {
  const random = seededRandom(3);
  const ps = [0, 5, 12.5, 50, 95, 99.9, 100];
  const spread = Array.from({ length: 101 }, () => random() * 50 - 10);
  // Many ties and a long sorted run stress the selection's partitioning.
  const ties = [...Array.from({ length: 5000 }, () => Math.floor(random() * 20)), ...Array.from({ length: 3000 }, (_, i) => i / 7)];
  for (const values of [spread, ties]) {
    const expected = await numpy<number[]>("print(json.dumps(np.percentile(np.array(data['v']), data['p']).tolist()))", { v: values, p: ps });
    assertClose(percentiles(values, ps), expected, 1e-12, "percentiles");
    assertClose(percentiles(Float32Array.from(values), ps), expected, 1e-4, "float32 percentiles");
  }
  assert.deepEqual(percentiles([1, 2, 3, 4], [50]), [2.5]);
  assert.throws(() => percentiles([], [50]), /empty/);
});

test("quaternion and rotation matrix convert both ways", () => {
  // 90° about z: (cos 45°, 0, 0, sin 45°).
  const h = Math.SQRT1_2;
  assertClose(quaternionToRotation([h, 0, 0, h]), [0, -1, 0, 1, 0, 0, 0, 0, 1], 1e-15, "rotZ90");
  // 180° rotations exercise every branch of Shepperd's method.
  for (const q of [
    [0.2, -0.5, 0.7, 0.1],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
    [-0.3, 0.1, 0.9, -0.2],
  ]) {
    const norm = Math.hypot(...q);
    const unit = q.map((v) => (v / norm) * (q[0]! < 0 ? -1 : 1));
    assertClose(rotationToQuaternion(quaternionToRotation(q)), unit, 1e-12, `quaternion ${q}`);
  }
});

test("invertRigid4 undoes a rigid transform", () => {
  const r = quaternionToRotation([0.9, 0.1, -0.3, 0.2]);
  const m = from3x4([r[0]!, r[1]!, r[2]!, 4, r[3]!, r[4]!, r[5]!, -5, r[6]!, r[7]!, r[8]!, 6]);
  assertClose(multiply4(m, invertRigid4(m)), [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], 1e-12, "m · m⁻¹");
});

test("umeyamaAlignment recovers a known similarity exactly", () => {
  const rotation = quaternionToRotation([0.3, -0.8, 0.4, 0.2]);
  const random = seededRandom(11);
  const source = Array.from({ length: 20 }, () => [random() * 10, random() * 10, random() * 10]);
  const target = source.map((p) => {
    const rp = [0, 1, 2].map((row) => rotation[row * 3]! * p[0]! + rotation[row * 3 + 1]! * p[1]! + rotation[row * 3 + 2]! * p[2]!);
    return [2.5 * rp[0]! + 1, 2.5 * rp[1]! - 7, 2.5 * rp[2]! + 0.5];
  });
  const result = umeyamaAlignment(source, target);
  assert.ok(Math.abs(result.scale - 2.5) < 1e-12, `scale ${result.scale}`);
  assertClose(result.rotation, rotation, 1e-12, "rotation");
  assertClose(result.translation, [1, -7, 0.5], 1e-10, "translation");
});

test("umeyamaAlignment matches numpy's SVD Umeyama on noisy and planar data", async () => {
  const random = seededRandom(5);
  const rotation = quaternionToRotation([0.6, 0.2, -0.5, 0.4]);
  const noisy = Array.from({ length: 50 }, () => [random() * 4, random() * 4, random() * 4]);
  // Planar source: the covariance has a zero singular value.
  const planar = Array.from({ length: 30 }, () => [random() * 4, random() * 4, 1]);
  for (const source of [noisy, planar]) {
    const target = source.map((p) => [0, 1, 2].map((row) => 0.7 * (rotation[row * 3]! * p[0]! + rotation[row * 3 + 1]! * p[1]! + rotation[row * 3 + 2]! * p[2]!) + row + (random() - 0.5) * 0.05));
    const expected = await numpy<{ scale: number; rotation: number[]; translation: number[] }>(
      `
src, dst = np.array(data["source"]), np.array(data["target"])
ms, md = src.mean(0), dst.mean(0)
cov = (dst - md).T @ (src - ms) / len(src)
u, d, vt = np.linalg.svd(cov)
s = np.eye(3)
if np.linalg.det(u) * np.linalg.det(vt) < 0: s[2, 2] = -1
r = u @ s @ vt
c = np.trace(np.diag(d) @ s) / ((src - ms) ** 2).sum(1).mean()
print(json.dumps({"scale": c, "rotation": r.flatten().tolist(), "translation": (md - c * r @ ms).tolist()}))`,
      { source, target },
    );
    const result = umeyamaAlignment(source, target);
    assert.ok(Math.abs(result.scale - expected.scale) < 1e-10, `scale ${result.scale} vs ${expected.scale}`);
    assertClose(result.rotation, expected.rotation, 1e-10, "rotation");
    assertClose(result.translation, expected.translation, 1e-10, "translation");
  }
});

test("umeyamaAlignment rejects degenerate input", () => {
  assert.throws(() => umeyamaAlignment([[0, 0, 0]], [[1, 1, 1]]), /at least 3/);
  assert.throws(() => umeyamaAlignment([[1, 2, 3], [1, 2, 3], [1, 2, 3]], [[0, 0, 0], [1, 0, 0], [0, 1, 0]]), /identical/);
});
