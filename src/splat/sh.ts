/**
 * Real spherical harmonics up to degree 3 in the basis and sign convention of the 3DGS
 * reference (and every viewer reading its PLY): colour = Σ_k b_k(d)·c_k + 0.5, clamped at 0.
 */
export const SH_C0 = 0.28209479177387814;
const C1 = 0.4886025119029199;
const C20 = 1.0925484305920792;
const C21 = -1.0925484305920792;
const C22 = 0.31539156525252005;
const C23 = -1.0925484305920792;
const C24 = 0.5462742152960396;
const C30 = -0.5900435899266435;
const C31 = 2.890611442640554;
const C32 = -0.4570457994644658;
const C33 = 0.3731763325901154;
const C34 = -0.4570457994644658;
const C35 = 1.445305721320277;
const C36 = -0.5900435899266435;

/** Number of coefficients per channel for a degree. */
export const shCoefficients = (degree: number): number => (degree + 1) * (degree + 1);

/** Writes the basis values b_1..b_15 (degree ≥ 1 terms) for unit direction (x, y, z) into `out[0..]`. */
export function shBasis(degree: number, x: number, y: number, z: number, out: Float64Array): void {
  if (degree < 1) return;
  out[0] = -C1 * y;
  out[1] = C1 * z;
  out[2] = -C1 * x;
  if (degree < 2) return;
  const xx = x * x;
  const yy = y * y;
  const zz = z * z;
  out[3] = C20 * x * y;
  out[4] = C21 * y * z;
  out[5] = C22 * (2 * zz - xx - yy);
  out[6] = C23 * x * z;
  out[7] = C24 * (xx - yy);
  if (degree < 3) return;
  out[8] = C30 * y * (3 * xx - yy);
  out[9] = C31 * x * y * z;
  out[10] = C32 * y * (4 * zz - xx - yy);
  out[11] = C33 * z * (2 * zz - 3 * xx - 3 * yy);
  out[12] = C34 * x * (4 * zz - xx - yy);
  out[13] = C35 * z * (xx - yy);
  out[14] = C36 * x * (xx - 3 * yy);
}

/**
 * Gradient of Σ_k g_k·b_k(d) with respect to the direction, given g_k (= dL/db_k for the
 * degree ≥ 1 terms, summed over channels) in `g[0..]`; writes (dx, dy, dz) into out[0..2].
 */
export function shBasisBackward(degree: number, x: number, y: number, z: number, g: Float64Array, out: Float64Array): void {
  let dx = 0;
  let dy = 0;
  let dz = 0;
  if (degree >= 1) {
    dy -= C1 * g[0]!;
    dz += C1 * g[1]!;
    dx -= C1 * g[2]!;
  }
  if (degree >= 2) {
    const g3 = g[3]!;
    const g4 = g[4]!;
    const g5 = g[5]!;
    const g6 = g[6]!;
    const g7 = g[7]!;
    dx += C20 * y * g3 - 2 * C22 * x * g5 + C23 * z * g6 + 2 * C24 * x * g7;
    dy += C20 * x * g3 + C21 * z * g4 - 2 * C22 * y * g5 - 2 * C24 * y * g7;
    dz += C21 * y * g4 + 4 * C22 * z * g5 + C23 * x * g6;
  }
  if (degree >= 3) {
    const xx = x * x;
    const yy = y * y;
    const zz = z * z;
    const g8 = g[8]!;
    const g9 = g[9]!;
    const g10 = g[10]!;
    const g11 = g[11]!;
    const g12 = g[12]!;
    const g13 = g[13]!;
    const g14 = g[14]!;
    dx +=
      C30 * 6 * x * y * g8 +
      C31 * y * z * g9 -
      C32 * 2 * x * y * g10 -
      C33 * 6 * x * z * g11 +
      C34 * (4 * zz - 3 * xx - yy) * g12 +
      C35 * 2 * x * z * g13 +
      C36 * (3 * xx - 3 * yy) * g14;
    dy +=
      C30 * (3 * xx - 3 * yy) * g8 +
      C31 * x * z * g9 +
      C32 * (4 * zz - xx - 3 * yy) * g10 -
      C33 * 6 * y * z * g11 -
      C34 * 2 * x * y * g12 -
      C35 * 2 * y * z * g13 -
      C36 * 6 * x * y * g14;
    dz += C31 * x * y * g9 + C32 * 8 * y * z * g10 + C33 * (6 * zz - 3 * xx - 3 * yy) * g11 + C34 * 8 * x * z * g12 + C35 * (xx - yy) * g13;
  }
  out[0] = dx;
  out[1] = dy;
  out[2] = dz;
}
