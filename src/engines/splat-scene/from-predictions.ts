import { mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import type { ColmapCamera, ColmapImage, ColmapModel, ColmapPoint3D } from '../../formats/colmap-model.ts';
import { writeColmapModelBinary } from '../../formats/colmap-model.ts';
import { percentile, rotationToQuaternion } from '../../formats/geometry.ts';
import { type NpzFile, readNpz } from '../../formats/npz.ts';
import { EngineError } from '../engine.ts';
import { floats } from '../predictions-scene.ts';
import { SCENE_IMAGES, SCENE_MODEL, type SplatSceneSettings } from './settings.ts';

/** Point arrays of a predictions.npz, densest first: VGGT's point map, its depth-based points, DA3's. */
const DENSE_KEYS = [
  ['world_points', 'world_points_conf'],
  ['world_points_from_depth', 'depth_conf'],
] as const;

/**
 * A splat scene from a VGGT-layout predictions.npz (VGGT, DA3): its pinhole cameras as they are
 * (these models predict undistorted intrinsics for the images they saw), those very images (the
 * `images` key), and the most confident dense points as seeds. Written under `outDir` as
 * `images/` and a binary COLMAP model in `sparse/`.
 */
export async function sceneFromPredictions(npzPath: string, outDir: string, inputs: string[], settings: Pick<SplatSceneSettings, 'maxPoints' | 'confPercentile'>) {
  const npz = await readNpz(npzPath);
  try {
    for (const key of ['extrinsic', 'intrinsic', 'images']) {
      if (!npz.has(key)) {
        throw new EngineError(`predictions.npz has no "${key}" (it has ${npz.keys.join(', ')}); a splat scene needs the cameras and the images they were estimated on`, {
          hint: key === 'images' ? 'Use COLMAP for the sfm stage, or an engine that stores its processed images (vggt-local, da3)' : undefined,
        });
      }
    }
    const shape = npz.get('images').shape;
    if (shape.length !== 4 || shape[1] !== 3) throw new EngineError(`predictions.npz images have shape (${shape}), expected (S,3,H,W)`);
    const [frames, , height, width] = shape as [number, number, number, number];
    const images = floats(npz.get('images'), 'images');
    const extrinsic = floats(npz.get('extrinsic'), 'extrinsic');
    const intrinsic = floats(npz.get('intrinsic'), 'intrinsic');
    const names = frameNames(npz, inputs, frames);

    const model: ColmapModel = { cameras: new Map(), images: new Map(), points3D: new Map() };
    await mkdir(join(outDir, SCENE_IMAGES), { recursive: true });
    for (let f = 0; f < frames; f++) {
      const k = intrinsic.subarray(f * 9, f * 9 + 9);
      const e = extrinsic.subarray(f * 12, f * 12 + 12);
      const camera: ColmapCamera = { id: f + 1, model: 'PINHOLE', width, height, params: [k[0]!, k[4]!, k[2]!, k[5]!] };
      const rotation = [e[0]!, e[1]!, e[2]!, e[4]!, e[5]!, e[6]!, e[8]!, e[9]!, e[10]!];
      const image: ColmapImage = { id: f + 1, qvec: rotationToQuaternion(rotation), tvec: [e[3]!, e[7]!, e[11]!], cameraId: f + 1, name: names[f]!, points2D: [] };
      model.cameras.set(camera.id, camera);
      model.images.set(image.id, image);
      await writeFrame(images, f, width, height, join(outDir, SCENE_IMAGES, names[f]!));
    }
    const seeds = densePoints(npz, images, frames, height, width, settings);
    for (const point of seeds) model.points3D.set(point.id, point);
    await mkdir(join(outDir, SCENE_MODEL), { recursive: true });
    await writeColmapModelBinary(join(outDir, SCENE_MODEL), model);
    return { frames, width, height, points: seeds.length };
  } finally {
    await npz.close();
  }
}

/** The frames' names: stored ones, else the run's inputs in sorted order (the order VGGT saw them), as PNG. */
function frameNames(npz: NpzFile, inputs: string[], frames: number): string[] {
  const stored = npz.has('image_names') ? (npz.get('image_names').data as string[]) : undefined;
  const sources = stored?.length === frames ? stored : inputs.length === frames ? [...inputs].sort().map((p) => basename(p)) : undefined;
  return Array.from({ length: frames }, (_, f) => {
    const source = sources?.[f];
    return source ? `${basename(source, extname(source))}.png` : `frame-${String(f).padStart(4, '0')}.png`;
  });
}

async function writeFrame(images: Float32Array, frame: number, width: number, height: number, path: string): Promise<void> {
  const pixels = width * height;
  const rgb = Buffer.alloc(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.round(Math.min(1, Math.max(0, images[(frame * 3 + c) * pixels + p]!)) * 255);
  }
  await sharp(rgb, { raw: { width, height, channels: 3 } }).png().toFile(path);
}

/** The most confident dense points (above the percentile), evenly thinned to at most maxPoints, coloured from the images. */
function densePoints(npz: NpzFile, images: Float32Array, frames: number, height: number, width: number, settings: Pick<SplatSceneSettings, 'maxPoints' | 'confPercentile'>): ColmapPoint3D[] {
  const keys = DENSE_KEYS.find(([points]) => npz.has(points));
  if (!keys) throw new EngineError(`predictions.npz has no dense points (${DENSE_KEYS.map(([p]) => p).join(' or ')}) to seed the splats`);
  const xyz = floats(npz.get(keys[0]), keys[0]);
  const pixels = frames * height * width;
  if (xyz.length !== pixels * 3) throw new EngineError(`${keys[0]} has ${xyz.length / 3} points, expected ${pixels} (one per pixel)`);
  const conf = npz.has(keys[1]) ? floats(npz.get(keys[1]), keys[1]) : undefined;
  const threshold = conf ? Math.max(1e-5, percentile(conf, settings.confPercentile)) : Number.NEGATIVE_INFINITY;
  const kept: number[] = [];
  for (let i = 0; i < pixels; i++) {
    if (conf && !(conf[i]! >= threshold)) continue;
    if (!Number.isFinite(xyz[3 * i]!) || !Number.isFinite(xyz[3 * i + 1]!) || !Number.isFinite(xyz[3 * i + 2]!)) continue;
    kept.push(i);
  }
  const stride = Math.max(1, kept.length / settings.maxPoints);
  const points: ColmapPoint3D[] = [];
  const plane = height * width;
  for (let n = 0; n < kept.length && points.length < settings.maxPoints; n++) {
    const i = kept[Math.floor(n * stride)];
    if (i === undefined) break;
    const frame = Math.floor(i / plane);
    const p = i % plane;
    const rgb = [0, 1, 2].map((c) => Math.round(Math.min(1, Math.max(0, images[(frame * 3 + c) * plane + p]!)) * 255)) as [number, number, number];
    points.push({ id: points.length + 1, xyz: [xyz[3 * i]!, xyz[3 * i + 1]!, xyz[3 * i + 2]!], rgb, error: 0, track: [] });
  }
  if (!points.length) throw new EngineError(`No dense point passed the confidence percentile ${settings.confPercentile}; lower confPercentile`);
  return points;
}
