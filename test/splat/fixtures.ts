import type { Camera } from '../../src/splat/camera.ts';
import type { GaussianCloud } from '../../src/splat/gaussian-cloud.ts';
import { Rng } from '../../src/splat/rng.ts';

/** A camera at `center` looking at the origin (y down in the image, world up = −y). */
export function lookAtCamera(center: [number, number, number], width: number, height: number, focal = width * 0.9): Camera {
  const [cx, cy, cz] = center;
  const zn = Math.hypot(cx, cy, cz);
  const z = [-cx / zn, -cy / zn, -cz / zn];
  // x = z × up with up = (0, −1, 0) → image y points down along world −up.
  let x = [z[2]!, 0, -z[0]!];
  const xn = Math.hypot(x[0]!, x[1]!, x[2]!);
  x = x.map((v) => v / xn);
  const y = [z[1]! * x[2]! - z[2]! * x[1]!, z[2]! * x[0]! - z[0]! * x[2]!, z[0]! * x[1]! - z[1]! * x[0]!];
  const rotation = [...x, ...y, ...z];
  const t: [number, number, number] = [0, 0, 0];
  for (let r = 0; r < 3; r++) t[r] = -(rotation[3 * r]! * cx + rotation[3 * r + 1]! * cy + rotation[3 * r + 2]! * cz);
  return { width, height, fx: focal, fy: focal, cx: width / 2, cy: height / 2, rotation, translation: t };
}

/** `count` random Gaussians in a ball of `extent` around the origin, SH degree `shDegree`. */
export function randomCloud(count: number, seed: number, options: { extent?: number; shDegree?: number; logScale?: number; Float?: Float32ArrayConstructor | Float64ArrayConstructor } = {}): GaussianCloud {
  const rng = new Rng(seed);
  const Float = options.Float ?? Float32Array;
  const extent = options.extent ?? 1;
  const shDegree = options.shDegree ?? 3;
  const shWidth = ((shDegree + 1) ** 2 - 1) * 3;
  const cloud: GaussianCloud = {
    count,
    shDegree,
    means: new Float(count * 3),
    logScales: new Float(count * 3),
    quats: new Float(count * 4),
    opacities: new Float(count),
    sh0: new Float(count * 3),
    shN: new Float(count * shWidth),
  };
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < 3; k++) {
      cloud.means[3 * i + k] = (rng.next() * 2 - 1) * extent;
      cloud.logScales[3 * i + k] = (options.logScale ?? Math.log(0.15 * extent)) + rng.normal() * 0.3;
      cloud.sh0[3 * i + k] = rng.normal() * 0.8;
    }
    for (let k = 0; k < 4; k++) cloud.quats[4 * i + k] = rng.normal();
    cloud.opacities[i] = rng.normal() * 0.8 + 0.3;
    for (let k = 0; k < shWidth; k++) cloud.shN[i * shWidth + k] = rng.normal() * 0.15;
  }
  return cloud;
}
