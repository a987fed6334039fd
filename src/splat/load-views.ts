import { isAbsolute, join, normalize, sep } from 'node:path';
import sharp from 'sharp';
import { type ColmapModel, intrinsicMatrix, readColmapModel } from '../formats/colmap-model.ts';
import { quaternionToRotation } from '../formats/geometry.ts';
import { type Camera, resizeCamera } from './camera.ts';
import type { SeedPoints } from './initialize.ts';
import type { View } from './view.ts';

const PINHOLE_MODELS = new Set(['PINHOLE', 'SIMPLE_PINHOLE']);

export interface ColmapScene {
  /** Every registered image, sorted by name, at the working width. */
  views: View[];
  /** The model's 3D points: seeds for the Gaussians. */
  points: SeedPoints;
}

/**
 * Training views from an undistorted COLMAP model (PINHOLE / SIMPLE_PINHOLE cameras, as
 * `colmap image_undistorter` writes) and its images, each decoded and scaled to `width`
 * pixels wide; plus the model's points. Cameras stay in the model's world frame.
 */
export async function loadColmapScene(modelDir: string, imageDir: string, options: { width: number }): Promise<ColmapScene> {
  const model = await readColmapModel(modelDir);
  return { views: await viewsOf(model, imageDir, options.width), points: pointsOf(model) };
}

async function viewsOf(model: ColmapModel, imageDir: string, width: number): Promise<View[]> {
  const images = [...model.images.values()].sort((p, q) => (p.name < q.name ? -1 : p.name > q.name ? 1 : 0));
  const views: View[] = [];
  for (const image of images) {
    const colmapCamera = model.cameras.get(image.cameraId);
    if (!colmapCamera) throw new Error(`image ${image.name}: camera ${image.cameraId} is not in the model`);
    if (!PINHOLE_MODELS.has(colmapCamera.model)) {
      throw new Error(`camera ${colmapCamera.id} is ${colmapCamera.model}; splatting needs undistorted pinhole cameras — run "colmap image_undistorter" first`);
    }
    const k = intrinsicMatrix(colmapCamera);
    const full: Camera = {
      width: colmapCamera.width,
      height: colmapCamera.height,
      fx: k[0]!,
      fy: k[4]!,
      cx: k[2]!,
      cy: k[5]!,
      rotation: quaternionToRotation(image.qvec),
      translation: [...image.tvec],
    };
    const camera = resizeCamera(full, Math.min(width, full.width));
    views.push({ name: image.name, camera, image: await decode(imagePath(imageDir, image.name), camera.width, camera.height) });
  }
  return views;
}

/** Decodes an image to RGB floats in 0..1 at exactly width × height (area-averaged when shrinking). */
export async function decode(path: string, width: number, height: number): Promise<Float32Array> {
  const { data, info } = await sharp(path).removeAlpha().toColourspace('srgb').resize(width, height, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== width || info.height !== height) throw new Error(`${path}: decoded to ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×3`);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! / 255;
  return out;
}

function pointsOf(model: ColmapModel): SeedPoints {
  const points = [...model.points3D.values()];
  const positions = new Float32Array(points.length * 3);
  const colors = new Uint8Array(points.length * 3);
  points.forEach((p, i) => {
    positions.set(p.xyz, 3 * i);
    colors.set(p.rgb, 3 * i);
  });
  return { positions, colors };
}

/** The model names its images; a name must stay inside imageDir. */
function imagePath(imageDir: string, name: string): string {
  const clean = normalize(name);
  if (isAbsolute(clean) || clean === '..' || clean.startsWith(`..${sep}`)) throw new Error(`image name ${JSON.stringify(name)} points outside the image folder`);
  return join(imageDir, clean);
}
