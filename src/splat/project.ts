import { ewaMatrix, LOW_PASS, NEAR_PLANE, rotationOf } from './covariance.ts';
import { SH_C0, shBasis } from './sh.ts';
import { type Arrays, FRAME, TILE } from './workspace.ts';

const rot = new Float64Array(9);
const ewa = new Float64Array(10);
const basis = new Float64Array(15);

/**
 * EWA projection of this thread's share of the Gaussians for the camera in `frame`: 2D mean,
 * conic (inverse 2D covariance), opacity, view-dependent colour, depth, radius and tile
 * rectangle. Culled Gaussians get radius 0.
 */
export function projectKernel(a: Arrays, part: number, parts: number): void {
  const f = a.frame;
  const count = f[FRAME.count]! | 0;
  const start = Math.floor((count * part) / parts);
  const end = Math.floor((count * (part + 1)) / parts);
  const fx = f[FRAME.fx]!;
  const fy = f[FRAME.fy]!;
  const cx = f[FRAME.cx]!;
  const cy = f[FRAME.cy]!;
  const width = f[FRAME.width]! | 0;
  const height = f[FRAME.height]! | 0;
  const tilesX = f[FRAME.tilesX]! | 0;
  const tilesY = f[FRAME.tilesY]! | 0;
  const degree = f[FRAME.shDegree]! | 0;
  const camX = f[FRAME.center]!;
  const camY = f[FRAME.center + 1]!;
  const camZ = f[FRAME.center + 2]!;
  const { means, logScales, quats, opacities, sh0, shN, mean2d, conic, color, alpha, depth, radius, tileRect } = a;
  const shStride = shN.length / Math.max(1, a.opacities.length);
  const activeCoeffs = (degree + 1) * (degree + 1) - 1;
  for (let i = start; i < end; i++) {
    radius[i] = 0;
    const mx = means[3 * i]!;
    const my = means[3 * i + 1]!;
    const mz = means[3 * i + 2]!;
    const tx = f[0]! * mx + f[1]! * my + f[2]! * mz + f[9]!;
    const ty = f[3]! * mx + f[4]! * my + f[5]! * mz + f[10]!;
    const tz = f[6]! * mx + f[7]! * my + f[8]! * mz + f[11]!;
    if (!(tz > NEAR_PLANE)) continue;

    let qw = quats[4 * i]!;
    let qx = quats[4 * i + 1]!;
    let qy = quats[4 * i + 2]!;
    let qz = quats[4 * i + 3]!;
    const qn = 1 / Math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz);
    qw *= qn;
    qx *= qn;
    qy *= qn;
    qz *= qn;
    rotationOf(qw, qx, qy, qz, rot);
    const s0 = Math.exp(logScales[3 * i]!);
    const s1 = Math.exp(logScales[3 * i + 1]!);
    const s2 = Math.exp(logScales[3 * i + 2]!);
    // M = R·S; Σ = M·Mᵀ.
    const m00 = rot[0]! * s0, m01 = rot[1]! * s1, m02 = rot[2]! * s2;
    const m10 = rot[3]! * s0, m11 = rot[4]! * s1, m12 = rot[5]! * s2;
    const m20 = rot[6]! * s0, m21 = rot[7]! * s1, m22 = rot[8]! * s2;
    const c00 = m00 * m00 + m01 * m01 + m02 * m02;
    const c01 = m00 * m10 + m01 * m11 + m02 * m12;
    const c02 = m00 * m20 + m01 * m21 + m02 * m22;
    const c11 = m10 * m10 + m11 * m11 + m12 * m12;
    const c12 = m10 * m20 + m11 * m21 + m12 * m22;
    const c22 = m20 * m20 + m21 * m21 + m22 * m22;

    ewaMatrix(f, tx, ty, tz, ewa);
    const t00 = ewa[0]!, t01 = ewa[1]!, t02 = ewa[2]!;
    const t10 = ewa[3]!, t11 = ewa[4]!, t12 = ewa[5]!;
    // cov2d = T·Σ·Tᵀ + low-pass.
    const u0 = t00 * c00 + t01 * c01 + t02 * c02;
    const u1 = t00 * c01 + t01 * c11 + t02 * c12;
    const u2 = t00 * c02 + t01 * c12 + t02 * c22;
    const w0 = t10 * c00 + t11 * c01 + t12 * c02;
    const w1 = t10 * c01 + t11 * c11 + t12 * c12;
    const w2 = t10 * c02 + t11 * c12 + t12 * c22;
    const ca = u0 * t00 + u1 * t01 + u2 * t02 + LOW_PASS;
    const cb = u0 * t10 + u1 * t11 + u2 * t12;
    const cc = w0 * t10 + w1 * t11 + w2 * t12 + LOW_PASS;
    const det = ca * cc - cb * cb;
    if (!(det > 0)) continue;
    const half = 0.5 * (ca + cc);
    const lambda = half + Math.sqrt(Math.max(0.01, half * half - det));
    const r = Math.ceil(3 * Math.sqrt(lambda));
    const px = (fx * tx) / tz + cx;
    const py = (fy * ty) / tz + cy;
    if (px + r <= 0 || px - r >= width || py + r <= 0 || py - r >= height) continue;
    const x0 = Math.max(0, Math.floor((px - r) / TILE));
    const x1 = Math.min(tilesX, Math.floor((px + r) / TILE) + 1);
    const y0 = Math.max(0, Math.floor((py - r) / TILE));
    const y1 = Math.min(tilesY, Math.floor((py + r) / TILE) + 1);
    if (x0 >= x1 || y0 >= y1) continue;

    radius[i] = r;
    tileRect[4 * i] = x0;
    tileRect[4 * i + 1] = y0;
    tileRect[4 * i + 2] = x1;
    tileRect[4 * i + 3] = y1;
    mean2d[2 * i] = px;
    mean2d[2 * i + 1] = py;
    const inv = 1 / det;
    conic[3 * i] = cc * inv;
    conic[3 * i + 1] = -cb * inv;
    conic[3 * i + 2] = ca * inv;
    depth[i] = tz;
    alpha[i] = 1 / (1 + Math.exp(-opacities[i]!));

    let r0 = SH_C0 * sh0[3 * i]! + 0.5;
    let r1 = SH_C0 * sh0[3 * i + 1]! + 0.5;
    let r2 = SH_C0 * sh0[3 * i + 2]! + 0.5;
    if (degree > 0) {
      let dx = mx - camX;
      let dy = my - camY;
      let dz = mz - camZ;
      const dn = 1 / Math.sqrt(dx * dx + dy * dy + dz * dz);
      dx *= dn;
      dy *= dn;
      dz *= dn;
      shBasis(degree, dx, dy, dz, basis);
      const o = i * shStride;
      for (let k = 0; k < activeCoeffs; k++) {
        const b = basis[k]!;
        r0 += b * shN[o + 3 * k]!;
        r1 += b * shN[o + 3 * k + 1]!;
        r2 += b * shN[o + 3 * k + 2]!;
      }
    }
    color[3 * i] = Math.max(r0, 0);
    color[3 * i + 1] = Math.max(r1, 0);
    color[3 * i + 2] = Math.max(r2, 0);
  }
}
