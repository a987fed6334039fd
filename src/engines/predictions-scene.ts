import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BaseSettings } from '../domain/base-settings.ts';
import type { EngineContext } from './engine.ts';
import { buildSceneGlb, pointCloudFromPredictions } from '../formats/glb-scene.ts';
import type { NdArray } from '../formats/npy.ts';
import { readNpz } from '../formats/npz.ts';

type SceneSettings = Pick<BaseSettings, 'confThreshold' | 'predictionMode' | 'maskBlackBg' | 'maskWhiteBg' | 'showCameras'> & {
  frameFilter?: number;
};

export interface PredictionsSceneResult {
  pointCount: number;
  frames: number;
  /** Which predictions the points came from, e.g. "world_points_from_depth / depth_conf". */
  source: string;
}

/**
 * Builds scene.glb from a VGGT-layout predictions.npz the way VGGT's demo does: 'pointmap' takes
 * world_points/world_points_conf, 'depth' world_points_from_depth/depth_conf (each falling back
 * to the other branch when an engine wrote only one).
 */
export async function writeSceneFromPredictions(npzPath: string, glbPath: string, settings: SceneSettings): Promise<PredictionsSceneResult> {
  const npz = await readNpz(npzPath);
  try {
    const branches: [points: string, conf: string][] = [
      ['world_points_from_depth', 'depth_conf'],
      ['world_points', 'world_points_conf'],
    ];
    if (settings.predictionMode === 'pointmap') branches.reverse();
    const branch = branches.find(([points]) => npz.has(points));
    if (!branch) throw new Error(`${npzPath}: has neither world_points nor world_points_from_depth (keys: ${npz.keys.join(', ')})`);
    const [pointsKey, confKey] = branch;
    const points = await npz.load(pointsKey);
    if (points.shape.length !== 4 || points.shape[3] !== 3) throw new Error(`${pointsKey} has shape (${points.shape}), expected (S,H,W,3)`);
    const [frames, height, width] = points.shape as [number, number, number, number];
    const conf = npz.has(confKey) ? floats(await npz.load(confKey), confKey) : undefined;
    const images = npz.has('images') ? floats(await npz.load('images'), 'images') : undefined;
    const cloud = pointCloudFromPredictions({ worldPoints: floats(points, pointsKey), conf, images, frames, height, width });
    const extrinsic = npz.has('extrinsic') ? floats(npz.get('extrinsic'), 'extrinsic') : undefined;
    const cameras = extrinsic ? Array.from({ length: frames }, (_, i) => ({ extrinsic: extrinsic.subarray(i * 12, i * 12 + 12) })) : [];
    const frameFilter = settings.frameFilter !== undefined && settings.frameFilter < frames ? settings.frameFilter : undefined;
    const { glb, pointCount } = await buildSceneGlb(cloud, cameras, { ...settings, frameFilter });
    const partial = `${glbPath}.partial`;
    await writeFile(partial, glb);
    await rename(partial, glbPath);
    return { pointCount, frames, source: `${pointsKey}${conf ? ` / ${confKey}` : ''}` };
  } finally {
    await npz.close();
  }
}

/** Float32 view (or copy) of a numeric array, whatever float width the writer used. */
export function floats(array: NdArray, name: string): Float32Array {
  if (array.fortranOrder) throw new Error(`${name} is stored in Fortran order, which is not supported`);
  const { data } = array;
  if (data instanceof Float32Array) return data;
  if (Array.isArray(data)) throw new Error(`${name} is text (dtype ${array.dtype}), expected numbers`);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float32Array.from(data, Number);
  return Float32Array.from(data);
}

/** Builds scene.glb from a VGGT-layout predictions.npz and stores both as the run's artifacts. */
export async function publishPredictions(ctx: EngineContext<unknown>, predictions: string, settings: SceneSettings): Promise<void> {
  ctx.progress('exporting', 0.5, 'Building scene.glb');
  const glb = join(ctx.workDir, 'scene.glb');
  const scene = await writeSceneFromPredictions(predictions, glb, settings);
  ctx.log(`scene.glb: ${scene.pointCount} points from ${scene.source}`);
  ctx.signal.throwIfAborted();
  await ctx.putArtifact('predictions', predictions);
  await ctx.putArtifact('glb', glb);
  ctx.progress('exporting', 1, 'Wrote predictions.npz and scene.glb');
}
