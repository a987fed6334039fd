import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { CAMERA_MODELS } from "../../src/formats/colmap-model-binary.ts";
import {
  cameraCenter,
  extrinsicMatrix,
  intrinsicMatrix,
  readColmapModel,
  writeColmapModelBinary,
  writeColmapModelText,
} from "../../src/formats/colmap-model.ts";
import type { ColmapModel } from "../../src/formats/colmap-model.ts";
import { seededRandom } from '../../src/domain/seeded-random.ts';

const run = promisify(execFile);

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "colmap-model-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});


/** A consistent model: every camera model, unit quaternions, tracks matching keypoints, ids beyond 32 bits. */
function syntheticModel(): ColmapModel {
  const random = seededRandom(7);
  const model: ColmapModel = { cameras: new Map(), images: new Map(), points3D: new Map() };
  CAMERA_MODELS.forEach((info, i) => {
    const id = i + 1;
    model.cameras.set(id, {
      id,
      model: info.name,
      width: 640 + i,
      height: 480 - i,
      params: Array.from({ length: info.paramCount }, () => (random() - 0.5) * 1000),
    });
  });
  const pointIds = [3, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER];
  for (let i = 0; i < 4; i++) {
    const q = [random() - 0.5, random() - 0.5, random() - 0.5, random() - 0.5];
    const norm = Math.hypot(...q);
    const id = 10 + i * 3;
    model.images.set(id, {
      id,
      qvec: q.map((v) => v / norm) as [number, number, number, number],
      tvec: [random() * 10, -random() * 1e-9, random() * 1e6],
      cameraId: (i % CAMERA_MODELS.length) + 1,
      name: i === 3 ? "sub/dir/img_é.jpg" : `frame_${i}.png`,
      points2D: [
        { x: random() * 640, y: random() * 480, point3DId: -1 },
        ...pointIds.map((point3DId) => ({ x: random() * 640, y: random() * 480, point3DId })),
      ],
    });
  }
  // One image without any keypoints: its keypoint line in images.txt is empty.
  model.images.set(99, { id: 99, qvec: [1, 0, 0, 0], tvec: [0, 0, 0], cameraId: 1, name: "empty.jpg", points2D: [] });
  pointIds.forEach((id, p) => {
    model.points3D.set(id, {
      id,
      xyz: [random() * 100 - 50, random() * 1e-7, -random() * 3e5],
      rgb: [Math.floor(random() * 256), 0, 255],
      error: random(),
      track: [...model.images.values()].filter((image) => image.points2D.length > 0).map((image) => ({ imageId: image.id, point2DIdx: p + 1 })),
    });
  });
  return model;
}

function assertClose(actual: readonly number[], expected: readonly number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  for (const [i, v] of actual.entries()) assert.ok(Math.abs(v - expected[i]!) <= tolerance, `${what}[${i}]: ${v} vs ${expected[i]}`);
}

/** COLMAP renormalizes quaternions when reading text, which may move the last bit. */
function assertSameModel(actual: ColmapModel, expected: ColmapModel): void {
  assert.deepEqual(actual.cameras, expected.cameras);
  assert.deepEqual(actual.points3D, expected.points3D);
  assert.deepEqual([...actual.images.keys()].sort(), [...expected.images.keys()].sort());
  for (const [id, image] of expected.images) {
    const got = actual.images.get(id)!;
    const { qvec, ...rest } = image;
    const { qvec: gotQvec, ...gotRest } = got;
    assert.deepEqual(gotRest, rest);
    assertClose(gotQvec, qvec, 1e-15, `image ${id} qvec`);
  }
}

async function colmapConvert(input: string, output: string, type: "TXT" | "BIN"): Promise<void> {
  await mkdir(output, { recursive: true });
  await run("colmap", ["model_converter", "--input_path", input, "--output_path", output, "--output_type", type], {
    env: { ...process.env, QT_QPA_PLATFORM: "offscreen" },
  });
}

describe("COLMAP text fixture", () => {
  const cameras = `# Camera list with one line of data per camera:
#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]
# Number of cameras: 2
1 SIMPLE_RADIAL 1600 1200 1500.5 800 600 -0.0125
2 PINHOLE 640 480 500 510 319.5 239.5
`;
  const images = `# Image list with two lines of data per image:
#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME
#   POINTS2D[] as (X, Y, POINT3D_ID)
# Number of images: 2, mean observations per image: 0.5
1 0.70710678118654757 0 0 0.70710678118654757 1 2 3 1 a.jpg
10.5 20.25 7 30 40 -1

2 1 0 0 0 0 0 0 2 b.jpg

`;
  const points = `# 3D point list with one line of data per point:
#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)
# Number of points: 1, mean track length: 1
7 1.5 -2 3e-2 255 128 0 0.75 1 0
`;

  test("parses to the written values", async () => {
    const dir = join(root, "fixture");
    await mkdir(dir);
    await writeFile(join(dir, "cameras.txt"), cameras);
    await writeFile(join(dir, "images.txt"), images);
    await writeFile(join(dir, "points3D.txt"), points);
    const model = await readColmapModel(dir);

    assert.deepEqual(model.cameras.get(1), { id: 1, model: "SIMPLE_RADIAL", width: 1600, height: 1200, params: [1500.5, 800, 600, -0.0125] });
    assert.deepEqual(model.cameras.get(2)!.params, [500, 510, 319.5, 239.5]);
    const a = model.images.get(1)!;
    assert.equal(a.name, "a.jpg");
    assert.equal(a.cameraId, 1);
    assert.deepEqual(a.tvec, [1, 2, 3]);
    assert.deepEqual(a.points2D, [
      { x: 10.5, y: 20.25, point3DId: 7 },
      { x: 30, y: 40, point3DId: -1 },
    ]);
    assert.deepEqual(model.images.get(2)!.points2D, []);
    assert.deepEqual(model.points3D.get(7), { id: 7, xyz: [1.5, -2, 0.03], rgb: [255, 128, 0], error: 0.75, track: [{ imageId: 1, point2DIdx: 0 }] });

    assert.deepEqual(intrinsicMatrix(model.cameras.get(1)!), [1500.5, 0, 800, 0, 1500.5, 600, 0, 0, 1]);
    assert.deepEqual(intrinsicMatrix(model.cameras.get(2)!), [500, 0, 319.5, 0, 510, 239.5, 0, 0, 1]);
    // qvec is a 90° rotation about z.
    const expectedExtrinsic = [0, -1, 0, 1, 1, 0, 0, 2, 0, 0, 1, 3];
    assertClose(extrinsicMatrix(a), expectedExtrinsic, 1e-15, "extrinsic");
    assertClose(cameraCenter(a), [-2, 1, -3], 1e-15, "camera centre");
  });

  test("reports the file and line of a malformed record", async () => {
    const dir = join(root, "broken-text");
    await mkdir(dir);
    await writeFile(join(dir, "images.txt"), images);
    await writeFile(join(dir, "points3D.txt"), points);
    await writeFile(join(dir, "cameras.txt"), cameras.replace("319.5 239.5", "319.5"));
    await assert.rejects(readColmapModel(dir), (error: Error) => {
      assert.match(error.message, /cameras\.txt:5: PINHOLE takes 4 params, got 3/);
      return true;
    });
    await writeFile(join(dir, "cameras.txt"), cameras);
    await writeFile(join(dir, "points3D.txt"), points.replace("0.75 1 0", "0.75 1"));
    await assert.rejects(readColmapModel(dir), /points3D\.txt:4: TRACK needs \(IMAGE_ID, POINT2D_IDX\) pairs/);
  });
});

describe("COLMAP model round trips", () => {
  test("text and binary writers round-trip exactly through our readers", async () => {
    const model = syntheticModel();
    await writeColmapModelText(join(root, "rt-text"), model);
    await writeColmapModelBinary(join(root, "rt-bin"), model);
    assert.deepEqual(await readColmapModel(join(root, "rt-text")), model);
    assert.deepEqual(await readColmapModel(join(root, "rt-bin")), model);

    await writeColmapModelBinary(join(root, "rt-text-to-bin"), await readColmapModel(join(root, "rt-text")));
    assert.deepEqual(await readColmapModel(join(root, "rt-text-to-bin")), model);
  });

  test("binary reader reports truncation and unrepresentable ids with file and offset", async () => {
    const dir = join(root, "broken-bin");
    await writeColmapModelBinary(dir, syntheticModel());
    const cameras = await readFile(join(dir, "cameras.bin"));
    await writeFile(join(dir, "cameras.bin"), cameras.subarray(0, cameras.length - 3));
    await assert.rejects(readColmapModel(dir), /cameras\.bin: offset \d+: unexpected end of file/);

    await writeFile(join(dir, "cameras.bin"), cameras);
    const points = await readFile(join(dir, "points3D.bin"));
    points.writeBigUInt64LE(2n ** 53n + 1n, 8);
    await writeFile(join(dir, "points3D.bin"), points);
    await assert.rejects(readColmapModel(dir), /points3D\.bin: offset 8: uint64 9007199254740993 exceeds 2\^53/);
  });

  test("writers reject values the formats cannot hold", async () => {
    const model = syntheticModel();
    model.images.get(10)!.name = "has space.jpg";
    await assert.rejects(writeColmapModelText(join(root, "bad-name"), model), /name "has space.jpg" is empty or contains whitespace/);
    const wrongParams = syntheticModel();
    wrongParams.cameras.get(1)!.params.push(1);
    await assert.rejects(writeColmapModelBinary(join(root, "bad-params"), wrongParams), /SIMPLE_PINHOLE takes 3 params, got 4/);
  });
});

describe("compatibility with COLMAP 3.8 model_converter", () => {
  for (const [ours, write] of [
    ["text", writeColmapModelText],
    ["binary", writeColmapModelBinary],
  ] as const) {
    for (const type of ["TXT", "BIN"] as const) {
      test(`COLMAP reads our ${ours} model and its ${type} output reads back identically`, async () => {
        const model = syntheticModel();
        const input = join(root, `colmap-in-${ours}-${type}`);
        const output = join(root, `colmap-out-${ours}-${type}`);
        await write(input, model);
        await colmapConvert(input, output, type);
        assertSameModel(await readColmapModel(output), model);
      });
    }
  }
});
