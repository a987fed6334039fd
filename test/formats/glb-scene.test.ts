import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { NodeIO } from "@gltf-transform/core";
import { buildSceneGlb, pointCloudFromPredictions } from "../../src/formats/glb-scene.ts";
import type { PointCloud, SceneCamera, SceneOptions } from "../../src/formats/glb-scene.ts";
import { summarizeGlb } from "../../src/formats/glb-summary.ts";
import { from3x4, invertRigid4, quaternionToRotation, transformPoint4 } from "../../src/formats/geometry.ts";

interface ValidatorReport {
  issues: { numErrors: number; numWarnings: number; messages: { code: string; message: string; severity: number; pointer?: string }[] };
}
const validator = createRequire(import.meta.url)("gltf-validator") as { validateBytes(data: Uint8Array): Promise<ValidatorReport> };
const run = promisify(execFile);

const ALL: SceneOptions = { confThreshold: 0, maskBlackBg: false, maskWhiteBg: false, showCameras: false };
const IDENTITY: SceneCamera = { extrinsic: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0] };

function extrinsic(q: number[], t: number[]): number[] {
  const r = quaternionToRotation(q);
  return [r[0]!, r[1]!, r[2]!, t[0]!, r[3]!, r[4]!, r[5]!, t[1]!, r[6]!, r[7]!, r[8]!, t[2]!];
}

function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomCloud(count: number, seed: number): PointCloud {
  const random = seededRandom(seed);
  return {
    positions: Float32Array.from({ length: count * 3 }, (_, i) => random() * 6 - 3 + (i % 3 === 2 ? 8 : 0)),
    colors: Uint8Array.from({ length: count * 3 }, () => Math.floor(random() * 256)),
    confidence: Float32Array.from({ length: count }, () => random() * 5),
    frameIndex: Uint32Array.from({ length: count }, (_, i) => i % 3),
  };
}

async function readMeshes(glb: Uint8Array): Promise<Map<string, { positions: number[][]; colors: number[][]; mode: number }>> {
  const doc = await new NodeIO().readBinary(glb);
  const meshes = new Map<string, { positions: number[][]; colors: number[][]; mode: number }>();
  for (const node of doc.getRoot().listNodes()) {
    const primitive = node.getMesh()?.listPrimitives()[0];
    if (!primitive) continue;
    const position = primitive.getAttribute("POSITION")!;
    const color = primitive.getAttribute("COLOR_0")!;
    meshes.set(node.getName(), {
      mode: primitive.getMode(),
      positions: Array.from({ length: position.getCount() }, (_, i) => position.getElement(i, [])),
      colors: Array.from({ length: color.getCount() }, (_, i) => color.getElement(i, []).map((c) => Math.round(c * 255))),
    });
  }
  return meshes;
}

function assertClose(actual: readonly number[], expected: readonly number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  for (const [i, v] of actual.entries()) assert.ok(Math.abs(v - expected[i]!) <= tolerance, `${what}[${i}]: ${v} vs ${expected[i]}`);
}

async function assertValid(glb: Uint8Array): Promise<ValidatorReport> {
  const report = await validator.validateBytes(glb);
  assert.equal(report.issues.numErrors, 0, JSON.stringify(report.issues.messages));
  assert.equal(report.issues.numWarnings, 0, JSON.stringify(report.issues.messages));
  return report;
}

describe("point filtering", () => {
  // Point i sits at (i, 0, 10) with confidence i + 1.
  function tenPoints(colors?: number[][]): PointCloud {
    return {
      positions: Float32Array.from({ length: 30 }, (_, k) => (k % 3 === 0 ? k / 3 : k % 3 === 2 ? 10 : 0)),
      colors: Uint8Array.from((colors ?? Array.from({ length: 10 }, () => [100, 100, 100])).flat()),
      confidence: Float32Array.from({ length: 10 }, (_, i) => i + 1),
      frameIndex: Uint32Array.from({ length: 10 }, (_, i) => (i < 4 ? 0 : 1)),
    };
  }
  // With the identity first camera the scene transform is diag(−1, −1, 1), so x comes back negated.
  async function keptXs(points: PointCloud, options: SceneOptions): Promise<number[]> {
    const { glb, pointCount } = await buildSceneGlb(points, [IDENTITY], options);
    const xs = ((await readMeshes(glb)).get("points")?.positions ?? []).map((p) => 0 - p[0]!);
    assert.equal(pointCount, xs.length);
    return xs;
  }

  test("confidence threshold is a percentile of the confidences", async () => {
    // The 50th percentile of 1…10 is 5.5, so confidences 6…10 remain.
    assert.deepEqual(await keptXs(tenPoints(), { ...ALL, confThreshold: 50 }), [5, 6, 7, 8, 9]);
    assert.deepEqual(await keptXs(tenPoints(), { ...ALL, confThreshold: 10 }), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test("confidence at or below 1e-5 is always dropped", async () => {
    const points = tenPoints();
    points.confidence![3] = 1e-5;
    points.confidence![4] = 0;
    assert.deepEqual(await keptXs(points, ALL), [0, 1, 2, 5, 6, 7, 8, 9]);
  });

  test("black and white background masks", async () => {
    const colors = Array.from({ length: 10 }, () => [100, 100, 100]);
    colors[0] = [5, 5, 5]; // sum 15: black
    colors[1] = [0, 0, 16]; // sum 16: kept
    colors[2] = [241, 241, 241]; // white
    colors[3] = [241, 241, 240]; // kept
    assert.deepEqual(await keptXs(tenPoints(colors), { ...ALL, maskBlackBg: true }), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(await keptXs(tenPoints(colors), { ...ALL, maskWhiteBg: true }), [0, 1, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(await keptXs(tenPoints(colors), { ...ALL, maskBlackBg: true, maskWhiteBg: true }), [1, 3, 4, 5, 6, 7, 8, 9]);
  });

  test("frame filter keeps one frame and takes the percentile within it", async () => {
    // Frame 1 holds points 4…9 (confidences 5…10); their 50th percentile is 7.5.
    const { glb } = await buildSceneGlb(tenPoints(), [IDENTITY, IDENTITY], { ...ALL, frameFilter: 1, confThreshold: 50 });
    assert.deepEqual((await readMeshes(glb)).get("points")!.positions.map((p) => 0 - p[0]!), [7, 8, 9]);
    assert.deepEqual(await keptXs(tenPoints(), { ...ALL, frameFilter: 0 }), [0, 1, 2, 3]);
  });

  test("colours travel with their points", async () => {
    const colors = Array.from({ length: 10 }, (_, i) => [i, 2 * i, 255 - i]);
    const { glb } = await buildSceneGlb(tenPoints(colors), [IDENTITY], { ...ALL, confThreshold: 80 });
    assert.deepEqual((await readMeshes(glb)).get("points")!.colors, [
      [8, 16, 247, 255],
      [9, 18, 246, 255],
    ]);
  });
});

describe("scene transform", () => {
  test("a point in front of an identity first camera ends up at (−x, −y, z)", async () => {
    const points = { positions: new Float32Array([1, 2, 5]), colors: new Uint8Array([1, 2, 3]) };
    const { glb } = await buildSceneGlb(points, [IDENTITY], ALL);
    assert.deepEqual((await readMeshes(glb)).get("points")!.positions, [[-1, -2, 5]]);
  });

  test("points follow diag(1,−1,−1,1) · rotY(180°) · E0 (VGGT's alignment, into the first camera's frame), computed independently by numpy", async () => {
    const cloud = randomCloud(200, 1);
    const cameras = [{ extrinsic: extrinsic([0.9, 0.2, -0.3, 0.1], [0.5, -1, 2]) }, IDENTITY];
    const { glb } = await buildSceneGlb(cloud, cameras, ALL);
    const { stdout } = await run("python3", [
      "-c",
      `
import json, sys, numpy as np
data = json.loads(sys.argv[1])
e0 = np.eye(4); e0[:3, :4] = np.array(data["e0"]).reshape(3, 4)
gl = np.diag([1.0, -1.0, -1.0, 1.0])
a = np.pi
roty = np.array([[np.cos(a), 0, np.sin(a), 0], [0, 1, 0, 0], [-np.sin(a), 0, np.cos(a), 0], [0, 0, 0, 1]])
align = gl @ roty @ e0
pts = np.array(data["points"], dtype=np.float64).reshape(-1, 3)
print(json.dumps((pts @ align[:3, :3].T + align[:3, 3]).tolist()))`,
      JSON.stringify({ e0: cameras[0]!.extrinsic, points: Array.from(cloud.positions) }),
    ]);
    const expected = JSON.parse(stdout) as number[][];
    const actual = (await readMeshes(glb)).get("points")!.positions;
    assert.equal(actual.length, 200);
    assertClose(actual.flat(), expected.flat(), 1e-5, "aligned points");
  });
});

describe("camera frustums", () => {
  test("pyramids sit at each camera, open towards its view, sized by the 5–95% box diagonal", async () => {
    const cloud = randomCloud(500, 2);
    const cameras = [
      { extrinsic: extrinsic([0.9, 0.2, -0.3, 0.1], [0.5, -1, 2]) },
      { extrinsic: extrinsic([0.1, 0.7, 0.7, 0.1], [3, 0, -1]) },
      IDENTITY,
    ];
    const { glb } = await buildSceneGlb(cloud, cameras, { ...ALL, showCameras: true });
    const { stdout } = await run("python3", [
      "-c",
      "import json, sys, numpy as np\np = np.array(json.loads(sys.argv[1])).reshape(-1, 3)\nprint(np.linalg.norm(np.percentile(p, 95, axis=0) - np.percentile(p, 5, axis=0)))",
      JSON.stringify(Array.from(cloud.positions)),
    ]);
    const scale = Number(stdout);
    const frustums = (await readMeshes(glb)).get("cameras")!;
    assert.equal(frustums.mode, 4);
    assert.equal(frustums.positions.length, 15);

    // Undo the scene transform diag(−1,−1,1)·E0, then express each vertex in its own OpenCV camera frame.
    const toWorld = invertRigid4(from3x4(cameras[0]!.extrinsic));
    cameras.forEach((camera, c) => {
      const e = from3x4(camera.extrinsic);
      const local = frustums.positions.slice(c * 5, c * 5 + 5).map(([x, y, z]) => {
        const [wx, wy, wz] = transformPoint4(toWorld, -x!, -y!, z!);
        return transformPoint4(e, wx, wy, wz);
      });
      const half = (0.05 * scale) / Math.SQRT2;
      // Cone ring (r,0), (0,r), (−r,0), (0,−r) turned 45° about z, then y and z flipped from OpenGL to OpenCV.
      const expected = [
        [0, 0, 0],
        [half, -half, 0.1 * scale],
        [-half, -half, 0.1 * scale],
        [-half, half, 0.1 * scale],
        [half, half, 0.1 * scale],
      ];
      assertClose(local.flat(), expected.flat(), 1e-4, `camera ${c} frustum in its own frame`);
    });
    const cameraColors = [0, 5, 10].map((v) => frustums.colors[v]!.join());
    assert.equal(new Set(cameraColors).size, 3, `distinct colours per camera: ${cameraColors}`);
    assert.ok(frustums.colors.slice(0, 5).every((color) => color.join() === cameraColors[0]));
  });

  test("frame filter shows only that frame's camera", async () => {
    const cloud = randomCloud(30, 3);
    const cameras = [IDENTITY, { extrinsic: extrinsic([1, 0, 0, 0], [0, 0, -4]) }, IDENTITY];
    const { glb } = await buildSceneGlb(cloud, cameras, { ...ALL, showCameras: true, frameFilter: 1 });
    const meshes = await readMeshes(glb);
    assert.equal(meshes.get("cameras")!.positions.length, 5);
    // The scene is brought into the filtered frame's camera: its centre (0,0,4) lands on the origin.
    assert.deepEqual(meshes.get("cameras")!.positions[0]!.map((v) => v + 0), [0, 0, 0]);
    assert.equal(meshes.get("points")!.positions.length, 10);
  });
});

describe("GLB validity (Khronos glTF-Validator)", () => {
  test("points and cameras", async () => {
    const cloud = randomCloud(2000, 4);
    const cameras = Array.from({ length: 8 }, (_, i) => ({ extrinsic: extrinsic([1, 0, i * 0.1, 0], [i, 0, 0]) }));
    const { glb, pointCount } = await buildSceneGlb(cloud, cameras, { confThreshold: 30, maskBlackBg: true, maskWhiteBg: true, showCameras: true });
    assert.ok(pointCount > 1000 && pointCount < 1500, `pointCount ${pointCount}`);
    await assertValid(glb);
  });

  test("enough cameras to need 32-bit indices", async () => {
    const cameras = Array.from({ length: 14_000 }, (_, i) => ({ extrinsic: extrinsic([1, 0, 0, 0], [i * 0.01, 0, 0]) }));
    const { glb } = await buildSceneGlb(randomCloud(10, 5), cameras, { ...ALL, showCameras: true });
    await assertValid(glb);
    assert.equal((await summarizeGlb(glb)).vertices, 10 + 70_000);
  });

  test("everything filtered out, with and without cameras", async () => {
    const cloud = randomCloud(50, 6);
    cloud.confidence!.fill(0);
    for (const showCameras of [true, false]) {
      const { glb, pointCount } = await buildSceneGlb(cloud, [IDENTITY], { ...ALL, showCameras });
      assert.equal(pointCount, 0);
      await assertValid(glb);
      assert.equal((await summarizeGlb(glb)).points, 0);
    }
    const { glb } = await buildSceneGlb({ positions: new Float32Array(0), colors: new Uint8Array(0) }, [], { ...ALL, showCameras: true });
    await assertValid(glb);
  });
});

describe("summarizeGlb", () => {
  test("counts and world bounds of a built scene", async () => {
    const points = { positions: new Float32Array([1, 2, 5, -3, 0.5, 7, 0, -1, 6]), colors: new Uint8Array(9).fill(90) };
    const { glb } = await buildSceneGlb(points, [IDENTITY, IDENTITY], { ...ALL, showCameras: true });
    const summary = await summarizeGlb(glb);
    assert.deepEqual({ ...summary, bounds: undefined }, { nodes: 2, meshes: 2, primitives: 2, points: 3, vertices: 13, materials: 1, bounds: undefined });
    // Points map to (−x, −y, z); the frustums' apexes at the origin extend the box down to z = 0.
    assert.deepEqual(summary.bounds, { min: [-1, -2, 0], max: [3, 1, 7] });
  });
});

describe("pointCloudFromPredictions", () => {
  test("reads channels-first images and tags frames", () => {
    const frames = 2;
    const height = 1;
    const width = 2;
    // images[s][c][y][x]
    const images = new Float32Array([0.0, 0.5, 0.1, 0.6, 0.2, 0.999, 1.0, 1.2, -0.1, 0.3, 0.4, 0.25]);
    const cloud = pointCloudFromPredictions({
      worldPoints: Float32Array.from({ length: 12 }, (_, i) => i),
      conf: new Float32Array([1, 2, 3, 4]),
      images,
      frames,
      height,
      width,
    });
    // Truncated like numpy's astype(uint8), clamped to 0–255.
    assert.deepEqual(Array.from(cloud.colors), [0, 25, 51, 127, 153, 254, 255, 0, 102, 255, 76, 63]);
    assert.deepEqual(Array.from(cloud.frameIndex!), [0, 0, 1, 1]);
    assert.deepEqual(Array.from(cloud.confidence!), [1, 2, 3, 4]);
    assert.equal(cloud.positions.length, 12);
    assert.throws(() => pointCloudFromPredictions({ worldPoints: new Float32Array(11), frames, height, width }), /worldPoints has 11 values, expected 12/);
  });
});
