import type { NdArray } from '../../formats/npy.ts';
import { readNpz, writeNpz } from '../../formats/npz.ts';
import { EngineError } from '../engine.ts';
import { floats } from '../predictions-scene.ts';

export interface ConvertedPredictions {
  frames: number;
  height: number;
  width: number;
  keys: string[];
}

const f4 = (shape: number[], data: Float32Array): NdArray => ({ dtype: '<f4', shape, fortranOrder: false, data });

/**
 * DA3's results.npz (`image (N,H,W,3) uint8, depth (N,H,W), conf (N,H,W), extrinsics (N,3,4|N,4,4)
 * OpenCV world-to-camera, intrinsics (N,3,3)`) → VGGT-layout predictions.npz. DA3 has no point-map
 * head, so world_points and world_points_from_depth are both the depth unprojected (as VGGT's
 * unproject_depth_map_to_point_map does), and world_points_conf is the depth confidence.
 */
export async function convertDa3Predictions(source: string, destination: string): Promise<ConvertedPredictions> {
  const npz = await readNpz(source);
  try {
    for (const key of ['depth', 'extrinsics', 'intrinsics']) {
      if (!npz.has(key)) {
        throw new EngineError(`DA3's results.npz has no "${key}" (it has ${npz.keys.join(', ')})`, {
          hint: key === 'depth' ? undefined : 'Monocular DA3 models predict no cameras; run the backend with a multi-view model such as depth-anything/DA3NESTED-GIANT-LARGE',
        });
      }
    }
    const depthArray = await npz.load('depth');
    const shape = depthArray.shape;
    if (!(shape.length === 3 || (shape.length === 4 && shape[3] === 1))) throw new EngineError(`DA3 depth has shape (${shape}), expected (N,H,W)`);
    const [frames, height, width] = shape as [number, number, number];
    const pixels = height * width;
    const depth = floats(depthArray, 'depth');

    const extrinsicsArray = npz.get('extrinsics');
    const rows = extrinsicsArray.shape[1];
    if (extrinsicsArray.shape[0] !== frames || (rows !== 3 && rows !== 4) || extrinsicsArray.shape[2] !== 4) {
      throw new EngineError(`DA3 extrinsics have shape (${extrinsicsArray.shape}), expected (${frames},3,4) or (${frames},4,4)`);
    }
    const extrinsicsIn = floats(extrinsicsArray, 'extrinsics');
    const extrinsic = new Float32Array(frames * 12);
    for (let f = 0; f < frames; f++) extrinsic.set(extrinsicsIn.subarray(f * rows * 4, f * rows * 4 + 12), f * 12);
    const intrinsicArray = npz.get('intrinsics');
    if (intrinsicArray.shape.join() !== `${frames},3,3`) throw new EngineError(`DA3 intrinsics have shape (${intrinsicArray.shape}), expected (${frames},3,3)`);
    const intrinsic = Float32Array.from(floats(intrinsicArray, 'intrinsics'));

    const points = new Float32Array(frames * pixels * 3);
    for (let f = 0; f < frames; f++) unprojectFrame(depth, extrinsic, intrinsic, f, height, width, points);

    const arrays: Record<string, NdArray> = {
      extrinsic: f4([frames, 3, 4], extrinsic),
      intrinsic: f4([frames, 3, 3], intrinsic),
      depth: f4([frames, height, width, 1], depth),
      world_points: f4([frames, height, width, 3], points),
      world_points_from_depth: f4([frames, height, width, 3], points),
    };
    if (npz.has('conf')) {
      const conf = floats(await npz.load('conf'), 'conf');
      if (conf.length !== frames * pixels) throw new EngineError(`DA3 conf has ${conf.length} values, expected ${frames * pixels}`);
      arrays.depth_conf = f4([frames, height, width], conf);
      arrays.world_points_conf = f4([frames, height, width], conf);
    }
    if (npz.has('image')) arrays.images = f4([frames, 3, height, width], channelsFirst(await npz.load('image'), frames, height, width));
    await writeNpz(destination, arrays);
    return { frames, height, width, keys: Object.keys(arrays) };
  } finally {
    await npz.close();
  }
}

/** p_world = Rᵀ (d·K⁻¹[u v 1]ᵀ − t), with pixel (u, v) at integer coordinates like VGGT. */
function unprojectFrame(depth: Float32Array, extrinsic: Float32Array, intrinsic: Float32Array, f: number, height: number, width: number, out: Float32Array): void {
  const e = extrinsic.subarray(f * 12, f * 12 + 12);
  const k = intrinsic.subarray(f * 9, f * 9 + 9);
  const [fx, cx, fy, cy] = [k[0]!, k[2]!, k[4]!, k[5]!];
  const pixels = height * width;
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const i = f * pixels + v * width + u;
      const d = depth[i]!;
      const x = ((u - cx) * d) / fx - e[3]!;
      const y = ((v - cy) * d) / fy - e[7]!;
      const z = d - e[11]!;
      out[i * 3] = e[0]! * x + e[4]! * y + e[8]! * z;
      out[i * 3 + 1] = e[1]! * x + e[5]! * y + e[9]! * z;
      out[i * 3 + 2] = e[2]! * x + e[6]! * y + e[10]! * z;
    }
  }
}

/** (N,H,W,3) uint8 (or floats in [0,1]) → (N,3,H,W) floats in [0,1]. */
function channelsFirst(image: NdArray, frames: number, height: number, width: number): Float32Array {
  if (image.shape.join() !== `${frames},${height},${width},3`) throw new EngineError(`DA3 image has shape (${image.shape}), expected (${frames},${height},${width},3)`);
  const scale = image.dtype.endsWith('u1') ? 1 / 255 : 1;
  const source = floats(image, 'image');
  const pixels = height * width;
  const out = new Float32Array(frames * 3 * pixels);
  for (let f = 0; f < frames; f++)
    for (let p = 0; p < pixels; p++)
      for (let c = 0; c < 3; c++) out[(f * 3 + c) * pixels + p] = source[(f * pixels + p) * 3 + c]! * scale;
  return out;
}
