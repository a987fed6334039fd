import { rotationOf } from './covariance.ts';
import type { FloatArray } from './workspace.ts';

/** Row-major R·diag(s) of Gaussian i (its principal axes, scaled), into out[0..8]. */
export function covarianceAxes(quats: FloatArray, logScales: FloatArray, i: number, out: Float64Array): void {
  const w = quats[4 * i]!;
  const x = quats[4 * i + 1]!;
  const y = quats[4 * i + 2]!;
  const z = quats[4 * i + 3]!;
  const n = 1 / Math.sqrt(w * w + x * x + y * y + z * z);
  rotationOf(w * n, x * n, y * n, z * n, out);
  for (let c = 0; c < 3; c++) {
    const s = Math.exp(logScales[3 * i + c]!);
    for (let r = 0; r < 3; r++) out[3 * r + c] = out[3 * r + c]! * s;
  }
}
