/**
 * The pieces of EWA splatting shared by the projection and its backward pass, written into
 * caller-owned scratch so the per-Gaussian loops allocate nothing.
 */

/** Row-major rotation of the unit quaternion (w, x, y, z) into out[0..8]. */
export function rotationOf(w: number, x: number, y: number, z: number, out: Float64Array): void {
  out[0] = 1 - 2 * (y * y + z * z);
  out[1] = 2 * (x * y - w * z);
  out[2] = 2 * (x * z + w * y);
  out[3] = 2 * (x * y + w * z);
  out[4] = 1 - 2 * (x * x + z * z);
  out[5] = 2 * (y * z - w * x);
  out[6] = 2 * (x * z - w * y);
  out[7] = 2 * (y * z + w * x);
  out[8] = 1 - 2 * (x * x + y * y);
}

/**
 * Low-pass filter added to every 2D covariance (gsplat's eps2d): a splat covers at least about
 * a pixel, which keeps tiny Gaussians from aliasing into invisibility.
 */
export const LOW_PASS = 0.3;
/** Gaussians closer than this to the camera plane are not drawn. */
export const NEAR_PLANE = 0.01;
/** The Jacobian is evaluated at most this far (as a fraction of the image) outside the frustum. */
export const FRUSTUM_MARGIN = 0.3;

/**
 * The 2×3 EWA matrix T = J·W (J the perspective Jacobian at camera-space point (tx, ty, tz) with
 * tx, ty clamped as gsplat does, W the world→camera rotation) into out[0..5], and the flags
 * of whether x or y were clamped in out[6], out[7].
 */
export function ewaMatrix(frame: Float64Array, tx: number, ty: number, tz: number, out: Float64Array): void {
  const fx = frame[12]!;
  const fy = frame[13]!;
  const cx = frame[14]!;
  const cy = frame[15]!;
  const width = frame[16]!;
  const height = frame[17]!;
  const limXPos = (width - cx) / fx + FRUSTUM_MARGIN * (width / fx);
  const limXNeg = cx / fx + FRUSTUM_MARGIN * (width / fx);
  const limYPos = (height - cy) / fy + FRUSTUM_MARGIN * (height / fy);
  const limYNeg = cy / fy + FRUSTUM_MARGIN * (height / fy);
  const rz = 1 / tz;
  const xr = tx * rz;
  const yr = ty * rz;
  const xc = xr > limXPos ? limXPos : Math.max(xr, -limXNeg);
  const yc = yr > limYPos ? limYPos : Math.max(yr, -limYNeg);
  const j00 = fx * rz;
  const j02 = -fx * xc * rz;
  const j11 = fy * rz;
  const j12 = -fy * yc * rz;
  // T = J·W with W row-major in frame[0..8].
  out[0] = j00 * frame[0]! + j02 * frame[6]!;
  out[1] = j00 * frame[1]! + j02 * frame[7]!;
  out[2] = j00 * frame[2]! + j02 * frame[8]!;
  out[3] = j11 * frame[3]! + j12 * frame[6]!;
  out[4] = j11 * frame[4]! + j12 * frame[7]!;
  out[5] = j11 * frame[5]! + j12 * frame[8]!;
  out[6] = xc !== xr ? 1 : 0;
  out[7] = yc !== yr ? 1 : 0;
  out[8] = xc;
  out[9] = yc;
}
