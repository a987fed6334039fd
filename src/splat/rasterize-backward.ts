import { gatherTile, MAX_ALPHA, negExp, STRIDE } from './tile-gather.ts';
import { type Arrays, FRAME, TILE } from './workspace.ts';

let local: Float64Array = new Float64Array(1024 * STRIDE);
const PIXELS = TILE * TILE;
const trans = new Float64Array(PIXELS);
const behindR = new Float64Array(PIXELS);
const behindG = new Float64Array(PIXELS);
const behindB = new Float64Array(PIXELS);
const dR = new Float64Array(PIXELS);
const dG = new Float64Array(PIXELS);
const dB = new Float64Array(PIXELS);
const last = new Int32Array(PIXELS);

/**
 * Gradients of the loss with respect to each Gaussian's 2D mean, conic, opacity and colour,
 * from dLoss/dImage. Walks each tile's Gaussians back to front from the last contributor,
 * over the pixels of each one's bounding box, recovering the transmittance before it by
 * dividing out (1 − α) as gsplat does. A Gaussian's sums stay in registers and go once into
 * this thread's slice of the t* buffers, so the result does not depend on thread timing.
 */
export function rasterizeBackwardKernel(a: Arrays, part: number, parts: number): void {
  const f = a.frame;
  const width = f[FRAME.width]! | 0;
  const height = f[FRAME.height]! | 0;
  const tilesX = f[FRAME.tilesX]! | 0;
  const count = f[FRAME.count]! | 0;
  const bg0 = f[FRAME.background]!;
  const bg1 = f[FRAME.background + 1]!;
  const bg2 = f[FRAME.background + 2]!;
  const { tileStart, finalT, lastIdx, dImage, isects } = a;
  const strideG = a.tAlpha.length / parts;
  const tMean2d = a.tMean2d.subarray(2 * strideG * part, 2 * strideG * (part + 1));
  const tConic = a.tConic.subarray(3 * strideG * part, 3 * strideG * (part + 1));
  const tColor = a.tColor.subarray(3 * strideG * part, 3 * strideG * (part + 1));
  const tAlpha = a.tAlpha.subarray(strideG * part, strideG * (part + 1));
  tMean2d.fill(0, 0, 2 * count);
  tConic.fill(0, 0, 3 * count);
  tColor.fill(0, 0, 3 * count);
  tAlpha.fill(0, 0, count);

  const tileEnd = a.tileParts[part + 1]!;
  for (let tile = a.tileParts[part]!; tile < tileEnd; tile++) {
    const start = tileStart[tile]!;
    const n = tileStart[tile + 1]! - start;
    if (n === 0) continue;
    const x0 = (tile % tilesX) * TILE;
    const y0 = Math.floor(tile / tilesX) * TILE;
    const x1 = Math.min(width, x0 + TILE) - 1;
    const y1 = Math.min(height, y0 + TILE) - 1;
    let maxLast = -1;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const p = (y - y0) * TILE + (x - x0);
        const q = y * width + x;
        const l = lastIdx[q]! - start;
        const tf = finalT[q]!;
        last[p] = l;
        if (l > maxLast) maxLast = l;
        trans[p] = tf;
        behindR[p] = tf * bg0;
        behindG[p] = tf * bg1;
        behindB[p] = tf * bg2;
        dR[p] = dImage[3 * q]!;
        dG[p] = dImage[3 * q + 1]!;
        dB[p] = dImage[3 * q + 2]!;
      }
    }
    if (maxLast < 0) continue;
    local = gatherTile(a, start, start + maxLast + 1, local);
    const g = local;
    for (let j = maxLast, o = maxLast * STRIDE; j >= 0; j--, o -= STRIDE) {
      const left = Math.max(x0, g[o + 10]!);
      const right = Math.min(x1, g[o + 11]!);
      const top = Math.max(y0, g[o + 12]!);
      const bottom = Math.min(y1, g[o + 13]!);
      if (!(left <= right && top <= bottom)) continue;
      // Small integers from here on, so pixel indices stay int32 for V8.
      const xa = left | 0;
      const xb = right | 0;
      const ya = top | 0;
      const yb = bottom | 0;
      const mx = g[o]!;
      const my = g[o + 1]!;
      const conA = g[o + 2]!;
      const conB = g[o + 3]!;
      const conC = g[o + 4]!;
      const opacity = g[o + 5]!;
      const c0 = g[o + 6]!;
      const c1 = g[o + 7]!;
      const c2 = g[o + 8]!;
      const cut = g[o + 9]!;
      let gmx = 0, gmy = 0, gA = 0, gB = 0, gC = 0, gOp = 0, gR = 0, gG = 0, gBl = 0;
      let touched = false;
      for (let y = ya; y <= yb; y++) {
        const dy = my - (y + 0.5);
        const row = (y - y0) * TILE - x0;
        for (let x = xa; x <= xb; x++) {
          const p = row + x;
          if (j > last[p]!) continue;
          const dx = mx - (x + 0.5);
          const sigma = 0.5 * (conA * dx * dx + conC * dy * dy) + conB * dx * dy;
          if (sigma < 0 || sigma > cut) continue;
          touched = true;
          const vis = negExp(sigma);
          const raw = opacity * vis;
          const al = Math.min(raw, MAX_ALPHA);
          const inv = 1 / (1 - al);
          const T = trans[p]! * inv;
          trans[p] = T;
          const w = al * T;
          const dc0 = dR[p]!;
          const dc1 = dG[p]!;
          const dc2 = dB[p]!;
          gR += w * dc0;
          gG += w * dc1;
          gBl += w * dc2;
          const b0 = behindR[p]!;
          const b1 = behindG[p]!;
          const b2 = behindB[p]!;
          if (raw < MAX_ALPHA) {
            // What lies behind: the colour composited after this Gaussian plus the background.
            const dAlpha = dc0 * (c0 * T - b0 * inv) + dc1 * (c1 * T - b1 * inv) + dc2 * (c2 * T - b2 * inv);
            const dSigma = -raw * dAlpha;
            gmx += dSigma * (conA * dx + conB * dy);
            gmy += dSigma * (conB * dx + conC * dy);
            gA += 0.5 * dSigma * dx * dx;
            gB += dSigma * dx * dy;
            gC += 0.5 * dSigma * dy * dy;
            gOp += vis * dAlpha;
          }
          behindR[p] = b0 + w * c0;
          behindG[p] = b1 + w * c1;
          behindB[p] = b2 + w * c2;
        }
      }
      if (!touched) continue;
      const i = isects[start + j]!;
      tMean2d[2 * i] = tMean2d[2 * i]! + gmx;
      tMean2d[2 * i + 1] = tMean2d[2 * i + 1]! + gmy;
      tConic[3 * i] = tConic[3 * i]! + gA;
      tConic[3 * i + 1] = tConic[3 * i + 1]! + gB;
      tConic[3 * i + 2] = tConic[3 * i + 2]! + gC;
      tAlpha[i] = tAlpha[i]! + gOp;
      tColor[3 * i] = tColor[3 * i]! + gR;
      tColor[3 * i + 1] = tColor[3 * i + 1]! + gG;
      tColor[3 * i + 2] = tColor[3 * i + 2]! + gBl;
    }
  }
}
