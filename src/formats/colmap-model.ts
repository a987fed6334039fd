import { access } from "node:fs/promises";
import { join } from "node:path";
import { cameraModel, readColmapModelBinary } from "./colmap-model-binary.ts";
import { readColmapModelText } from "./colmap-model-text.ts";
import { multiply3Vec, quaternionToRotation, transpose3 } from "./geometry.ts";

export { writeColmapModelBinary } from "./colmap-model-binary.ts";
export { writeColmapModelText } from "./colmap-model-text.ts";

export interface ColmapCamera {
  id: number;
  model: string;
  width: number;
  height: number;
  params: number[];
}

export interface ColmapImage {
  id: number;
  /** w, x, y, z; rotates world into camera coordinates. */
  qvec: [number, number, number, number];
  tvec: [number, number, number];
  cameraId: number;
  name: string;
  /** point3DId is -1 when the keypoint has no 3D point. */
  points2D: { x: number; y: number; point3DId: number }[];
}

export interface ColmapPoint3D {
  id: number;
  xyz: [number, number, number];
  rgb: [number, number, number];
  error: number;
  track: { imageId: number; point2DIdx: number }[];
}

export interface ColmapModel {
  cameras: Map<number, ColmapCamera>;
  images: Map<number, ColmapImage>;
  points3D: Map<number, ColmapPoint3D>;
}

/** Reads cameras/images/points3D from `dir`, preferring the .bin files as COLMAP does. */
export async function readColmapModel(dir: string): Promise<ColmapModel> {
  if (await exists(join(dir, "cameras.bin"))) return readColmapModelBinary(dir);
  if (await exists(join(dir, "cameras.txt"))) return readColmapModelText(dir);
  throw new Error(`${dir}: no COLMAP model (neither cameras.bin nor cameras.txt)`);
}

/** Row-major 3×3 K from the model's focal length(s) and principal point. */
export function intrinsicMatrix(camera: ColmapCamera): number[] {
  const { singleFocal } = cameraModel(camera.model);
  const p = camera.params;
  const [fx, fy, cx, cy] = singleFocal ? [p[0], p[0], p[1], p[2]] : [p[0], p[1], p[2], p[3]];
  if (fx === undefined || fy === undefined || cx === undefined || cy === undefined) {
    throw new Error(`camera ${camera.id}: ${camera.model} needs more than ${p.length} params`);
  }
  return [fx, 0, cx, 0, fy, cy, 0, 0, 1];
}

/** Row-major 3×4 [R|t], OpenCV camera-from-world. */
export function extrinsicMatrix(image: ColmapImage): number[] {
  const r = quaternionToRotation(image.qvec);
  const t = image.tvec;
  return [r[0]!, r[1]!, r[2]!, t[0], r[3]!, r[4]!, r[5]!, t[1], r[6]!, r[7]!, r[8]!, t[2]];
}

/** Camera centre in world coordinates: −Rᵀt. */
export function cameraCenter(image: ColmapImage): [number, number, number] {
  const c = multiply3Vec(transpose3(quaternionToRotation(image.qvec)), image.tvec);
  return [-c[0], -c[1], -c[2]];
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
