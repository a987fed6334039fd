import { type Arrays, FRAME } from './workspace.ts';

/**
 * Loss (1 − w)·L1 + w·(1 − SSIM) between `image` and `target`, and its gradient, as four
 * row-parallel passes. SSIM uses an 11×11 Gaussian window (σ 1.5), applied separably, over
 * the "valid" positions (the window inside the image), as gsplat's fused SSIM does. Every
 * map is RGB-interleaved like the images.
 */
export const WINDOW = 11;
const HALF = (WINDOW - 1) / 2;
const SSIM_C1 = 0.01 ** 2;
const SSIM_C2 = 0.03 ** 2;
const window = (() => {
  const w = new Float64Array(WINDOW);
  let sum = 0;
  for (let k = 0; k < WINDOW; k++) {
    w[k] = Math.exp(-((k - HALF) ** 2) / (2 * 1.5 * 1.5));
    sum += w[k]!;
  }
  for (let k = 0; k < WINDOW; k++) w[k] = w[k]! / sum;
  return w;
})();

const rows = (total: number, part: number, parts: number): [number, number] => [Math.floor((total * part) / parts), Math.floor((total * (part + 1)) / parts)];

/** Pass 1 (rows of the image): horizontal window sums of x, y, x², y², xy; L1 row sums. */
export function lossHorizontalKernel(a: Arrays, part: number, parts: number): void {
  const width = a.frame[FRAME.width]! | 0;
  const height = a.frame[FRAME.height]! | 0;
  const vw = width - WINDOW + 1;
  const { image, target, ssimH, rowL1 } = a;
  const plane = ssimH.length / 5;
  const [y0, y1] = rows(height, part, parts);
  for (let y = y0; y < y1; y++) {
    const row = y * width * 3;
    let l1 = 0;
    for (let i = row; i < row + width * 3; i++) l1 += Math.abs(image[i]! - target[i]!);
    rowL1[y] = l1;
    const out = y * vw * 3;
    for (let x = 0; x < vw; x++) {
      for (let c = 0; c < 3; c++) {
        let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
        for (let k = 0, i = row + x * 3 + c; k < WINDOW; k++, i += 3) {
          const w = window[k]!;
          const xv = image[i]!;
          const yv = target[i]!;
          sx += w * xv;
          sy += w * yv;
          sxx += w * xv * xv;
          syy += w * yv * yv;
          sxy += w * xv * yv;
        }
        const o = out + x * 3 + c;
        ssimH[o] = sx;
        ssimH[plane + o] = sy;
        ssimH[2 * plane + o] = sxx;
        ssimH[3 * plane + o] = syy;
        ssimH[4 * plane + o] = sxy;
      }
    }
  }
}

/** Row accumulators for the vertical passes (one row of 5 maps), grown on demand. */
let acc: Float64Array = new Float64Array(0);
function accumulators(line: number, maps: number): Float64Array {
  if (acc.length < line * maps) acc = new Float64Array(line * maps);
  acc.fill(0, 0, line * maps);
  return acc;
}

/** Pass 2 (valid rows): vertical window sums → SSIM per position, its row sums, and dLoss/d(window means). */
export function lossVerticalKernel(a: Arrays, part: number, parts: number): void {
  const width = a.frame[FRAME.width]! | 0;
  const height = a.frame[FRAME.height]! | 0;
  const weight = a.frame[FRAME.ssimWeight]!;
  const vw = width - WINDOW + 1;
  const vh = height - WINDOW + 1;
  const scale = -weight / (3 * vw * vh);
  const { ssimH, ssimD, rowSsim } = a;
  const plane = ssimH.length / 5;
  const dPlane = ssimD.length / 3;
  const line = vw * 3;
  const [y0, y1] = rows(vh, part, parts);
  for (let y = y0; y < y1; y++) {
    // Row by row, so every read is contiguous.
    const s = accumulators(line, 5);
    for (let k = 0; k < WINDOW; k++) {
      const w = window[k]!;
      const from = (y + k) * line;
      for (let m = 0; m < 5; m++) {
        const src = m * plane + from;
        const dst = m * line;
        for (let x = 0; x < line; x++) s[dst + x] = s[dst + x]! + w * ssimH[src + x]!;
      }
    }
    let sum = 0;
    for (let x = 0; x < line; x++) {
      const mx = s[x]!;
      const my = s[line + x]!;
      const vxx = s[2 * line + x]! - mx * mx;
      const vyy = s[3 * line + x]! - my * my;
      const vxy = s[4 * line + x]! - mx * my;
      const a1 = 2 * mx * my + SSIM_C1;
      const a2 = 2 * vxy + SSIM_C2;
      const b1 = mx * mx + my * my + SSIM_C1;
      const b2 = vxx + vyy + SSIM_C2;
      const ssim = (a1 * a2) / (b1 * b2);
      sum += ssim;
      const dMean = (2 * my * a2) / (b1 * b2) - (2 * mx * ssim) / b1;
      const dVar = -ssim / b2;
      const dCov = (2 * a1) / (b1 * b2);
      const o = y * line + x;
      ssimD[o] = scale * (dMean - 2 * mx * dVar - my * dCov);
      ssimD[dPlane + o] = scale * dVar;
      ssimD[2 * dPlane + o] = scale * dCov;
    }
    rowSsim[y] = sum;
  }
}

/** Pass 3 (all rows): the vertical window's transpose applied to the three derivative maps. */
export function lossBackVerticalKernel(a: Arrays, part: number, parts: number): void {
  const width = a.frame[FRAME.width]! | 0;
  const height = a.frame[FRAME.height]! | 0;
  const vw = width - WINDOW + 1;
  const vh = height - WINDOW + 1;
  const { ssimD, ssimB } = a;
  const dPlane = ssimD.length / 3;
  const bPlane = ssimB.length / 3;
  const line = vw * 3;
  const [y0, y1] = rows(height, part, parts);
  for (let y = y0; y < y1; y++) {
    const kMin = Math.max(0, y - vh + 1);
    const kMax = Math.min(WINDOW - 1, y);
    const out = y * line;
    for (let m = 0; m < 3; m++) ssimB.fill(0, m * bPlane + out, m * bPlane + out + line);
    for (let k = kMin; k <= kMax; k++) {
      const w = window[k]!;
      const from = (y - k) * line;
      for (let m = 0; m < 3; m++) {
        const src = m * dPlane + from;
        const dst = m * bPlane + out;
        for (let x = 0; x < line; x++) ssimB[dst + x] = ssimB[dst + x]! + w * ssimD[src + x]!;
      }
    }
  }
}

/** Pass 4 (all rows): the horizontal transpose, then the chain through x, x², xy, plus the L1 term → dImage. */
export function lossBackHorizontalKernel(a: Arrays, part: number, parts: number): void {
  const width = a.frame[FRAME.width]! | 0;
  const height = a.frame[FRAME.height]! | 0;
  const weight = a.frame[FRAME.ssimWeight]!;
  const vw = width - WINDOW + 1;
  const l1Scale = (1 - weight) / (3 * width * height);
  const { ssimB, image, target, dImage } = a;
  const bPlane = ssimB.length / 3;
  const [y0, y1] = rows(height, part, parts);
  for (let y = y0; y < y1; y++) {
    const rowB = y * vw * 3;
    for (let x = 0; x < width; x++) {
      const kMin = Math.max(0, x - vw + 1);
      const kMax = Math.min(WINDOW - 1, x);
      for (let c = 0; c < 3; c++) {
        let e0 = 0, e1 = 0, e2 = 0;
        for (let k = kMin; k <= kMax; k++) {
          const w = window[k]!;
          const i = rowB + (x - k) * 3 + c;
          e0 += w * ssimB[i]!;
          e1 += w * ssimB[bPlane + i]!;
          e2 += w * ssimB[2 * bPlane + i]!;
        }
        const p = (y * width + x) * 3 + c;
        const xv = image[p]!;
        const yv = target[p]!;
        const diff = xv - yv;
        dImage[p] = e0 + 2 * xv * e1 + yv * e2 + (diff > 0 ? l1Scale : diff < 0 ? -l1Scale : 0);
      }
    }
  }
}

/** Sums the row partials in row order (so the value is the same for any thread count). */
export function lossValue(a: Arrays): { loss: number; l1: number; ssim: number } {
  const width = a.frame[FRAME.width]! | 0;
  const height = a.frame[FRAME.height]! | 0;
  const weight = a.frame[FRAME.ssimWeight]!;
  let l1 = 0;
  for (let y = 0; y < height; y++) l1 += a.rowL1[y]!;
  let s = 0;
  const vh = height - WINDOW + 1;
  for (let y = 0; y < vh; y++) s += a.rowSsim[y]!;
  l1 /= 3 * width * height;
  const ssim = s / (3 * (width - WINDOW + 1) * vh);
  return { loss: (1 - weight) * l1 + weight * (1 - ssim), l1, ssim };
}
