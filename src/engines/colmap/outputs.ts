import { writeFile } from 'node:fs/promises';
import { type ColmapImage, type ColmapModel, extrinsicMatrix, intrinsicMatrix } from '../../formats/colmap-model.ts';
import { buildSceneGlb } from '../../formats/glb-scene.ts';
import type { NdArray } from '../../formats/npy.ts';
import { writeNpz } from '../../formats/npz.ts';
import { writePointsPly } from '../../formats/ply.ts';
import type { BaseSettings } from '../../domain/base-settings.ts';

export interface RegisteredImage {
  name: string;
  image: ColmapImage;
  /** Row-major 3×3, pixels of the full-size image. */
  intrinsic: number[];
  /** Row-major 3×4 [R|t], OpenCV camera-from-world. */
  extrinsic: number[];
}

export interface SparsePoints {
  positions: Float32Array;
  colors: Uint8Array;
  errors: Float32Array;
}

/**
 * The model's registered images in the order of `names` (the run's sorted inputs). COLMAP 3.8
 * creates each camera from the full-size image and scales keypoints back after downscaling for
 * SIFT, so its intrinsics are already in the original image's pixels. Distortion parameters
 * are dropped: the VGGT convention is a pinhole K.
 */
export function registeredImages(model: ColmapModel, names: string[]): RegisteredImage[] {
  const byName = new Map([...model.images.values()].map((image) => [image.name, image]));
  const out: RegisteredImage[] = [];
  for (const name of names) {
    const image = byName.get(name);
    if (!image) continue;
    const camera = model.cameras.get(image.cameraId);
    if (!camera) throw new Error(`image ${name} refers to camera ${image.cameraId}, which the model lacks`);
    out.push({ name, image, intrinsic: intrinsicMatrix(camera), extrinsic: extrinsicMatrix(image) });
  }
  return out;
}

/** The model's 3D points, by ascending id so the output is deterministic. */
export function sparsePoints(model: ColmapModel): SparsePoints {
  const points = [...model.points3D.values()].sort((a, b) => a.id - b.id);
  const positions = new Float32Array(points.length * 3);
  const colors = new Uint8Array(points.length * 3);
  const errors = new Float32Array(points.length);
  points.forEach((p, i) => {
    positions.set(p.xyz, i * 3);
    colors.set(p.rgb, i * 3);
    errors[i] = p.error;
  });
  return { positions, colors, errors };
}

/** predictions.npz in the VGGT layout (only the keys SfM can fill), plus the sparse points. */
export async function writePredictions(path: string, images: RegisteredImage[], points: SparsePoints): Promise<void> {
  const count = images.length;
  const nameLength = Math.max(1, ...images.map((i) => [...i.name].length));
  const arrays: Record<string, NdArray> = {
    extrinsic: float32([count, 3, 4], images.flatMap((i) => i.extrinsic)),
    intrinsic: float32([count, 3, 3], images.flatMap((i) => i.intrinsic)),
    image_names: { dtype: `<U${nameLength}`, shape: [count], fortranOrder: false, data: images.map((i) => i.name) },
    points: { dtype: '<f4', shape: [points.errors.length, 3], fortranOrder: false, data: points.positions },
    points_rgb: { dtype: '|u1', shape: [points.errors.length, 3], fortranOrder: false, data: points.colors },
    points_error: { dtype: '<f4', shape: [points.errors.length], fortranOrder: false, data: points.errors },
  };
  await writeNpz(path, arrays, { compress: false });
}

/**
 * The scene GLB. No confidence is passed: the percentile filter is meant for dense per-pixel
 * predictions where many pixels are noise, whereas every SfM point has already passed COLMAP's
 * multi-view checks (track length, reprojection error, triangulation angle); ranking them by
 * reprojection error would just drop half of a sparse cloud at the default threshold.
 */
export async function writeSceneGlb(path: string, images: RegisteredImage[], points: SparsePoints, settings: BaseSettings): Promise<number> {
  const { glb, pointCount } = await buildSceneGlb(
    { positions: points.positions, colors: points.colors },
    images.map((i) => ({ extrinsic: i.extrinsic })),
    {
      confThreshold: settings.confThreshold,
      maskBlackBg: settings.maskBlackBg,
      maskWhiteBg: settings.maskWhiteBg,
      showCameras: settings.showCameras,
    },
  );
  await writeFile(path, glb);
  return pointCount;
}

export async function writePly(path: string, points: SparsePoints): Promise<void> {
  await writePointsPly(path, { positions: points.positions, colors: points.colors, extra: { error: points.errors } });
}

function float32(shape: number[], values: number[]): NdArray {
  return { dtype: '<f4', shape, fortranOrder: false, data: Float32Array.from(values) };
}
