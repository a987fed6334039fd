import { ewaMatrix, rotationOf } from './covariance.ts';
import { SH_C0, shBasis, shBasisBackward } from './sh.ts';
import { type Arrays, FRAME } from './workspace.ts';

const rot = new Float64Array(9);
const ewa = new Float64Array(10);
const basis = new Float64Array(15);
const gBasis = new Float64Array(15);
const gDir = new Float64Array(3);

/**
 * Chains the view-space gradients (summed over threads in thread order) back through the
 * projection and the SH colour to the parameters of this thread's share of the Gaussians,
 * and collects gsplat's densification statistic: the norm of the 2D-mean gradient in NDC
 * units (pixels × size/2) for every Gaussian the view saw.
 */
export function projectBackwardKernel(a: Arrays, part: number, parts: number): void {
  const f = a.frame;
  const count = f[FRAME.count]! | 0;
  const start = Math.floor((count * part) / parts);
  const end = Math.floor((count * (part + 1)) / parts);
  const fx = f[FRAME.fx]!;
  const fy = f[FRAME.fy]!;
  const width = f[FRAME.width]! | 0;
  const height = f[FRAME.height]! | 0;
  const degree = f[FRAME.shDegree]! | 0;
  const accumulate = f[FRAME.accumulate] === 1;
  const camX = f[FRAME.center]!;
  const camY = f[FRAME.center + 1]!;
  const camZ = f[FRAME.center + 2]!;
  const { means, logScales, quats, opacities, shN, conic, color, alpha, radius, tMean2d, tConic, tColor, tAlpha } = a;
  const { gradMeans, gradLogScales, gradQuats, gradOpacities, gradSh0, gradShN, gradAccum, countAccum } = a;
  const threadStride = tAlpha.length / parts;
  const shStride = shN.length / Math.max(1, opacities.length);
  const activeCoeffs = (degree + 1) * (degree + 1) - 1;

  for (let i = start; i < end; i++) {
    const o = i * shStride;
    if (radius[i] === 0) {
      gradMeans.fill(0, 3 * i, 3 * i + 3);
      gradLogScales.fill(0, 3 * i, 3 * i + 3);
      gradQuats.fill(0, 4 * i, 4 * i + 4);
      gradOpacities[i] = 0;
      gradSh0.fill(0, 3 * i, 3 * i + 3);
      gradShN.fill(0, o, o + shStride);
      continue;
    }
    let gmx = 0, gmy = 0, gA = 0, gB = 0, gC = 0, gAl = 0, gr = 0, gg = 0, gb = 0;
    for (let t = 0; t < parts; t++) {
      const k = t * threadStride + i;
      gmx += tMean2d[2 * k]!;
      gmy += tMean2d[2 * k + 1]!;
      gA += tConic[3 * k]!;
      gB += tConic[3 * k + 1]!;
      gC += tConic[3 * k + 2]!;
      gAl += tAlpha[k]!;
      gr += tColor[3 * k]!;
      gg += tColor[3 * k + 1]!;
      gb += tColor[3 * k + 2]!;
    }
    if (accumulate) {
      const nx = gmx * width * 0.5;
      const ny = gmy * height * 0.5;
      gradAccum[i] = gradAccum[i]! + Math.sqrt(nx * nx + ny * ny);
      countAccum[i] = countAccum[i]! + 1;
    }
    const op = alpha[i]!;
    gradOpacities[i] = gAl * op * (1 - op);

    // Colour: clamped channels pass no gradient.
    if (!(color[3 * i]! > 0)) gr = 0;
    if (!(color[3 * i + 1]! > 0)) gg = 0;
    if (!(color[3 * i + 2]! > 0)) gb = 0;
    gradSh0[3 * i] = SH_C0 * gr;
    gradSh0[3 * i + 1] = SH_C0 * gg;
    gradSh0[3 * i + 2] = SH_C0 * gb;
    const mx = means[3 * i]!;
    const my = means[3 * i + 1]!;
    const mz = means[3 * i + 2]!;
    let dmx = 0, dmy = 0, dmz = 0;
    gradShN.fill(0, o + 3 * activeCoeffs, o + shStride);
    if (degree > 0) {
      const vx = mx - camX;
      const vy = my - camY;
      const vz = mz - camZ;
      const vn = 1 / Math.sqrt(vx * vx + vy * vy + vz * vz);
      const dx = vx * vn;
      const dy = vy * vn;
      const dz = vz * vn;
      shBasis(degree, dx, dy, dz, basis);
      for (let k = 0; k < activeCoeffs; k++) {
        const b = basis[k]!;
        gradShN[o + 3 * k] = b * gr;
        gradShN[o + 3 * k + 1] = b * gg;
        gradShN[o + 3 * k + 2] = b * gb;
        gBasis[k] = gr * shN[o + 3 * k]! + gg * shN[o + 3 * k + 1]! + gb * shN[o + 3 * k + 2]!;
      }
      shBasisBackward(degree, dx, dy, dz, gBasis, gDir);
      // Through the normalisation d = v/|v|.
      const gx = gDir[0]!;
      const gy = gDir[1]!;
      const gz = gDir[2]!;
      const dot = gx * dx + gy * dy + gz * dz;
      dmx += (gx - dot * dx) * vn;
      dmy += (gy - dot * dy) * vn;
      dmz += (gz - dot * dz) * vn;
    }

    // Recompute the forward quantities.
    const tx = f[0]! * mx + f[1]! * my + f[2]! * mz + f[9]!;
    const ty = f[3]! * mx + f[4]! * my + f[5]! * mz + f[10]!;
    const tz = f[6]! * mx + f[7]! * my + f[8]! * mz + f[11]!;
    const rqw = quats[4 * i]!;
    const rqx = quats[4 * i + 1]!;
    const rqy = quats[4 * i + 2]!;
    const rqz = quats[4 * i + 3]!;
    const qn = 1 / Math.sqrt(rqw * rqw + rqx * rqx + rqy * rqy + rqz * rqz);
    const qw = rqw * qn, qx = rqx * qn, qy = rqy * qn, qz = rqz * qn;
    rotationOf(qw, qx, qy, qz, rot);
    const s0 = Math.exp(logScales[3 * i]!);
    const s1 = Math.exp(logScales[3 * i + 1]!);
    const s2 = Math.exp(logScales[3 * i + 2]!);
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
    const clampedX = ewa[6] === 1;
    const clampedY = ewa[7] === 1;
    const xc = ewa[8]!;
    const yc = ewa[9]!;

    // Conic Q = cov2d⁻¹: dCov = −Q·G·Q with G the symmetric gradient (B appears twice in Q).
    const qa = conic[3 * i]!, qb = conic[3 * i + 1]!, qc = conic[3 * i + 2]!;
    const g00 = gA, g01 = 0.5 * gB, g11 = gC;
    // Q·G
    const h00 = qa * g00 + qb * g01, h01 = qa * g01 + qb * g11;
    const h10 = qb * g00 + qc * g01, h11 = qb * g01 + qc * g11;
    const dc00 = -(h00 * qa + h01 * qb);
    const dc01 = -(h00 * qb + h01 * qc);
    const dc11 = -(h10 * qb + h11 * qc);

    // cov2d = T·Σ·Tᵀ: dΣ = Tᵀ·dCov·T, dT = 2·dCov·T·Σ.
    const e00 = dc00 * t00 + dc01 * t10, e01 = dc00 * t01 + dc01 * t11, e02 = dc00 * t02 + dc01 * t12;
    const e10 = dc01 * t00 + dc11 * t10, e11 = dc01 * t01 + dc11 * t11, e12 = dc01 * t02 + dc11 * t12;
    const ds00 = t00 * e00 + t10 * e10;
    const ds01 = t00 * e01 + t10 * e11;
    const ds02 = t00 * e02 + t10 * e12;
    const ds11 = t01 * e01 + t11 * e11;
    const ds12 = t01 * e02 + t11 * e12;
    const ds22 = t02 * e02 + t12 * e12;
    const dT00 = 2 * (e00 * c00 + e01 * c01 + e02 * c02);
    const dT01 = 2 * (e00 * c01 + e01 * c11 + e02 * c12);
    const dT02 = 2 * (e00 * c02 + e01 * c12 + e02 * c22);
    const dT10 = 2 * (e10 * c00 + e11 * c01 + e12 * c02);
    const dT11 = 2 * (e10 * c01 + e11 * c11 + e12 * c12);
    const dT12 = 2 * (e10 * c02 + e11 * c12 + e12 * c22);
    // T = J·W: only J00, J02, J11, J12 are non-zero.
    const dJ00 = dT00 * f[0]! + dT01 * f[1]! + dT02 * f[2]!;
    const dJ02 = dT00 * f[6]! + dT01 * f[7]! + dT02 * f[8]!;
    const dJ11 = dT10 * f[3]! + dT11 * f[4]! + dT12 * f[5]!;
    const dJ12 = dT10 * f[6]! + dT11 * f[7]! + dT12 * f[8]!;
    const rz = 1 / tz;
    const rz2 = rz * rz;
    // J00 = fx/z, J02 = −fx·xc/z with xc = x/z unless clamped (then a constant).
    let dtx = 0;
    let dty = 0;
    let dtz = -fx * rz2 * dJ00 - fy * rz2 * dJ11;
    if (clampedX) dtz += fx * xc * rz2 * dJ02;
    else {
      dtx += -fx * rz2 * dJ02;
      dtz += 2 * fx * xc * rz2 * dJ02;
    }
    if (clampedY) dtz += fy * yc * rz2 * dJ12;
    else {
      dty += -fy * rz2 * dJ12;
      dtz += 2 * fy * yc * rz2 * dJ12;
    }
    // 2D mean = (fx·x/z + cx, fy·y/z + cy).
    dtx += fx * rz * gmx;
    dty += fy * rz * gmy;
    dtz += -fx * tx * rz2 * gmx - fy * ty * rz2 * gmy;
    // t = W·μ + t_w.
    dmx += f[0]! * dtx + f[3]! * dty + f[6]! * dtz;
    dmy += f[1]! * dtx + f[4]! * dty + f[7]! * dtz;
    dmz += f[2]! * dtx + f[5]! * dty + f[8]! * dtz;
    gradMeans[3 * i] = dmx;
    gradMeans[3 * i + 1] = dmy;
    gradMeans[3 * i + 2] = dmz;

    // Σ = M·Mᵀ: dM = 2·dΣ·M.
    const dm00 = 2 * (ds00 * m00 + ds01 * m10 + ds02 * m20);
    const dm01 = 2 * (ds00 * m01 + ds01 * m11 + ds02 * m21);
    const dm02 = 2 * (ds00 * m02 + ds01 * m12 + ds02 * m22);
    const dm10 = 2 * (ds01 * m00 + ds11 * m10 + ds12 * m20);
    const dm11 = 2 * (ds01 * m01 + ds11 * m11 + ds12 * m21);
    const dm12 = 2 * (ds01 * m02 + ds11 * m12 + ds12 * m22);
    const dm20 = 2 * (ds02 * m00 + ds12 * m10 + ds22 * m20);
    const dm21 = 2 * (ds02 * m01 + ds12 * m11 + ds22 * m21);
    const dm22 = 2 * (ds02 * m02 + ds12 * m12 + ds22 * m22);
    // M = R·S: dS_k = Σ_i dM_ik·R_ik (then ·s_k for the log), dR_ik = dM_ik·s_k.
    gradLogScales[3 * i] = (dm00 * rot[0]! + dm10 * rot[3]! + dm20 * rot[6]!) * s0;
    gradLogScales[3 * i + 1] = (dm01 * rot[1]! + dm11 * rot[4]! + dm21 * rot[7]!) * s1;
    gradLogScales[3 * i + 2] = (dm02 * rot[2]! + dm12 * rot[5]! + dm22 * rot[8]!) * s2;
    const G00 = dm00 * s0, G01 = dm01 * s1, G02 = dm02 * s2;
    const G10 = dm10 * s0, G11 = dm11 * s1, G12 = dm12 * s2;
    const G20 = dm20 * s0, G21 = dm21 * s1, G22 = dm22 * s2;
    const dqw = 2 * (-qz * G01 + qy * G02 + qz * G10 - qx * G12 - qy * G20 + qx * G21);
    const dqx = 2 * (qy * G01 + qz * G02 + qy * G10 - 2 * qx * G11 - qw * G12 + qz * G20 + qw * G21 - 2 * qx * G22);
    const dqy = 2 * (-2 * qy * G00 + qx * G01 + qw * G02 + qx * G10 + qz * G12 - qw * G20 + qz * G21 - 2 * qy * G22);
    const dqz = 2 * (-2 * qz * G00 - qw * G01 + qx * G02 + qw * G10 - 2 * qz * G11 + qy * G12 + qx * G20 + qy * G21);
    // Through the normalisation q/|q|.
    const qdot = dqw * qw + dqx * qx + dqy * qy + dqz * qz;
    gradQuats[4 * i] = (dqw - qdot * qw) * qn;
    gradQuats[4 * i + 1] = (dqx - qdot * qx) * qn;
    gradQuats[4 * i + 2] = (dqy - qdot * qy) * qn;
    gradQuats[4 * i + 3] = (dqz - qdot * qz) * qn;
  }
}
