import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ColmapCamera, ColmapImage, ColmapModel, ColmapPoint3D } from "./colmap-model.ts";

export interface CameraModelInfo {
  name: string;
  /** COLMAP's model_id in cameras.bin. */
  id: number;
  paramCount: number;
  /** Params start with a single f (f, cx, cy, …) rather than fx, fy, cx, cy, …. */
  singleFocal: boolean;
}

export const CAMERA_MODELS: readonly CameraModelInfo[] = [
  { name: "SIMPLE_PINHOLE", id: 0, paramCount: 3, singleFocal: true },
  { name: "PINHOLE", id: 1, paramCount: 4, singleFocal: false },
  { name: "SIMPLE_RADIAL", id: 2, paramCount: 4, singleFocal: true },
  { name: "RADIAL", id: 3, paramCount: 5, singleFocal: true },
  { name: "OPENCV", id: 4, paramCount: 8, singleFocal: false },
  { name: "OPENCV_FISHEYE", id: 5, paramCount: 8, singleFocal: false },
  { name: "FULL_OPENCV", id: 6, paramCount: 12, singleFocal: false },
  { name: "FOV", id: 7, paramCount: 5, singleFocal: false },
  { name: "SIMPLE_RADIAL_FISHEYE", id: 8, paramCount: 4, singleFocal: true },
  { name: "RADIAL_FISHEYE", id: 9, paramCount: 5, singleFocal: true },
  { name: "THIN_PRISM_FISHEYE", id: 10, paramCount: 12, singleFocal: false },
];

export function cameraModel(name: string): CameraModelInfo {
  const model = CAMERA_MODELS.find((m) => m.name === name);
  if (!model) throw new Error(`unknown COLMAP camera model "${name}"`);
  return model;
}

/** COLMAP's kInvalidPoint3DId (uint64 max), stored for keypoints without a 3D point. */
const INVALID_POINT3D_ID = 0xffff_ffff_ffff_ffffn;
const UINT32_MAX = 0xffff_ffff;

export async function readColmapModelBinary(dir: string): Promise<ColmapModel> {
  const [cameras, images, points3D] = await Promise.all([
    readWith(join(dir, "cameras.bin"), readCameras),
    readWith(join(dir, "images.bin"), readImages),
    readWith(join(dir, "points3D.bin"), readPoints3D),
  ]);
  return { cameras, images, points3D };
}

export async function writeColmapModelBinary(dir: string, model: ColmapModel): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all([
    writeFile(join(dir, "cameras.bin"), encodeCameras(model.cameras)),
    writeFile(join(dir, "images.bin"), encodeImages(model.images)),
    writeFile(join(dir, "points3D.bin"), encodePoints3D(model.points3D)),
  ]);
}

async function readWith<T>(path: string, parse: (reader: BinaryReader) => T): Promise<T> {
  const reader = new BinaryReader(path, await readFile(path));
  const result = parse(reader);
  reader.expectEnd();
  return result;
}

function readCameras(reader: BinaryReader): Map<number, ColmapCamera> {
  const cameras = new Map<number, ColmapCamera>();
  for (let n = reader.u64(); n > 0; n--) {
    const at = reader.offset;
    const id = reader.u32();
    const modelId = reader.i32();
    const model = CAMERA_MODELS.find((m) => m.id === modelId);
    if (!model) reader.fail(at, `unknown camera model id ${modelId}`);
    const width = reader.u64();
    const height = reader.u64();
    const params = Array.from({ length: model.paramCount }, () => reader.f64());
    cameras.set(id, { id, model: model.name, width, height, params });
  }
  return cameras;
}

function readImages(reader: BinaryReader): Map<number, ColmapImage> {
  const images = new Map<number, ColmapImage>();
  for (let n = reader.u64(); n > 0; n--) {
    const id = reader.u32();
    const qvec: ColmapImage["qvec"] = [reader.f64(), reader.f64(), reader.f64(), reader.f64()];
    const tvec: ColmapImage["tvec"] = [reader.f64(), reader.f64(), reader.f64()];
    const cameraId = reader.u32();
    const name = reader.cString();
    const points2D: ColmapImage["points2D"] = [];
    for (let k = reader.u64(); k > 0; k--) {
      const x = reader.f64();
      const y = reader.f64();
      points2D.push({ x, y, point3DId: reader.point3DId() });
    }
    images.set(id, { id, qvec, tvec, cameraId, name, points2D });
  }
  return images;
}

function readPoints3D(reader: BinaryReader): Map<number, ColmapPoint3D> {
  const points = new Map<number, ColmapPoint3D>();
  for (let n = reader.u64(); n > 0; n--) {
    const id = reader.u64();
    const xyz: ColmapPoint3D["xyz"] = [reader.f64(), reader.f64(), reader.f64()];
    const rgb: ColmapPoint3D["rgb"] = [reader.u8(), reader.u8(), reader.u8()];
    const error = reader.f64();
    const track: ColmapPoint3D["track"] = [];
    for (let k = reader.u64(); k > 0; k--) track.push({ imageId: reader.u32(), point2DIdx: reader.u32() });
    points.set(id, { id, xyz, rgb, error, track });
  }
  return points;
}

class BinaryReader {
  readonly path: string;
  readonly view: DataView;
  readonly bytes: Uint8Array;
  offset = 0;

  constructor(path: string, bytes: Uint8Array) {
    this.path = path;
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(at: number, message: string): never {
    throw new Error(`${this.path}: offset ${at}: ${message}`);
  }

  private take(size: number): number {
    const at = this.offset;
    if (at + size > this.bytes.length) this.fail(at, `unexpected end of file (needed ${size} more bytes)`);
    this.offset += size;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.take(1));
  }

  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  i32(): number {
    return this.view.getInt32(this.take(4), true);
  }

  f64(): number {
    return this.view.getFloat64(this.take(8), true);
  }

  u64(): number {
    const at = this.take(8);
    const value = this.view.getBigUint64(at, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(at, `uint64 ${value} exceeds 2^53 and cannot be represented exactly`);
    return Number(value);
  }

  point3DId(): number {
    const at = this.offset;
    if (at + 8 <= this.bytes.length && this.view.getBigUint64(at, true) === INVALID_POINT3D_ID) {
      this.offset += 8;
      return -1;
    }
    return this.u64();
  }

  cString(): string {
    const end = this.bytes.indexOf(0, this.offset);
    if (end < 0) this.fail(this.offset, "unterminated image name");
    const name = new TextDecoder().decode(this.bytes.subarray(this.offset, end));
    this.offset = end + 1;
    return name;
  }

  expectEnd(): void {
    if (this.offset !== this.bytes.length) this.fail(this.offset, `${this.bytes.length - this.offset} unexpected trailing bytes`);
  }
}

class BinaryWriter {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  offset = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(value: number, what: string): void {
    if (!Number.isInteger(value) || value < 0 || value > 255) throw new Error(`${what} ${value} is not a uint8`);
    this.view.setUint8(this.offset, value);
    this.offset += 1;
  }

  u32(value: number, what: string): void {
    if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) throw new Error(`${what} ${value} is not a uint32`);
    this.view.setUint32(this.offset, value, true);
    this.offset += 4;
  }

  i32(value: number): void {
    this.view.setInt32(this.offset, value, true);
    this.offset += 4;
  }

  u64(value: number, what: string): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${what} ${value} is not a non-negative safe integer`);
    this.view.setBigUint64(this.offset, BigInt(value), true);
    this.offset += 8;
  }

  point3DId(value: number, what: string): void {
    if (value === -1) {
      this.view.setBigUint64(this.offset, INVALID_POINT3D_ID, true);
      this.offset += 8;
    } else {
      this.u64(value, what);
    }
  }

  f64(value: number): void {
    this.view.setFloat64(this.offset, value, true);
    this.offset += 8;
  }

  raw(data: Uint8Array): void {
    this.bytes.set(data, this.offset);
    this.offset += data.length;
  }
}

function encodeCameras(cameras: Map<number, ColmapCamera>): Uint8Array {
  const list = sortedById(cameras);
  const models = list.map((camera) => {
    const model = cameraModel(camera.model);
    if (camera.params.length !== model.paramCount) {
      throw new Error(`camera ${camera.id}: ${camera.model} takes ${model.paramCount} params, got ${camera.params.length}`);
    }
    return model;
  });
  const size = 8 + list.reduce((sum, camera) => sum + 24 + 8 * camera.params.length, 0);
  const writer = new BinaryWriter(size);
  writer.u64(list.length, "camera count");
  list.forEach((camera, i) => {
    writer.u32(camera.id, "camera id");
    writer.i32(models[i]!.id);
    writer.u64(camera.width, `camera ${camera.id} width`);
    writer.u64(camera.height, `camera ${camera.id} height`);
    for (const p of camera.params) writer.f64(p);
  });
  return writer.bytes;
}

function encodeImages(images: Map<number, ColmapImage>): Uint8Array {
  const list = sortedById(images);
  const names = list.map((image) => {
    if (image.name.includes("\0")) throw new Error(`image ${image.id}: name contains a NUL byte`);
    return new TextEncoder().encode(`${image.name}\0`);
  });
  const size = 8 + list.reduce((sum, image, i) => sum + 4 + 56 + 4 + names[i]!.length + 8 + 24 * image.points2D.length, 0);
  const writer = new BinaryWriter(size);
  writer.u64(list.length, "image count");
  list.forEach((image, i) => {
    writer.u32(image.id, "image id");
    for (const q of image.qvec) writer.f64(q);
    for (const t of image.tvec) writer.f64(t);
    writer.u32(image.cameraId, `image ${image.id} camera id`);
    writer.raw(names[i]!);
    writer.u64(image.points2D.length, "point2D count");
    for (const point of image.points2D) {
      writer.f64(point.x);
      writer.f64(point.y);
      writer.point3DId(point.point3DId, `image ${image.id} point3D id`);
    }
  });
  return writer.bytes;
}

function encodePoints3D(points: Map<number, ColmapPoint3D>): Uint8Array {
  const list = sortedById(points);
  const size = 8 + list.reduce((sum, point) => sum + 8 + 24 + 3 + 8 + 8 + 8 * point.track.length, 0);
  const writer = new BinaryWriter(size);
  writer.u64(list.length, "point count");
  for (const point of list) {
    writer.u64(point.id, "point3D id");
    for (const c of point.xyz) writer.f64(c);
    for (const c of point.rgb) writer.u8(c, `point3D ${point.id} colour`);
    writer.f64(point.error);
    writer.u64(point.track.length, "track length");
    for (const element of point.track) {
      writer.u32(element.imageId, `point3D ${point.id} track image id`);
      writer.u32(element.point2DIdx, `point3D ${point.id} track point2D index`);
    }
  }
  return writer.bytes;
}

export function sortedById<T extends { id: number }>(map: Map<number, T>): T[] {
  return [...map.values()].sort((a, b) => a.id - b.id);
}
