import { gatherTile, MAX_ALPHA, STRIDE } from './tile-gather.ts';
import { type Arrays, FRAME, TILE } from './workspace.ts';

let local: Float64Array = new Float64Array(1024 * STRIDE);
/** Per tile-local Gaussian: d/d(x, y, A, B, C, opacity, R, G, B). */
const GRADS = 9;
let grads: Float64Array = new Float64Array(1024 * GRADS);

/**
 * Gradients of the loss with respect to each Gaussian's 2D mean, conic, opacity and colour,
 * from dLoss/dImage. Each pixel walks its list back to front from its last contributor,
 * recovering the transmittance before each Gaussian by dividing out (1 − α) as gsplat does.
 * Sums go to tile-local arrays, then into this thread's slice of the t* buffers, so the
 * result does not depend on how other threads are scheduled.
 */
export function rasterizeBackwardKernel(a: Arrays, part: number, parts: number): void {
  const f = a.frame;
  const width = f[FRAME.width]!;
  const height = f[FRAME.height]!;
  const tilesX = f[FRAME.tilesX]!;
  const count = f[FRAME.count]!;
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
    local = gatherTile(a, start, start + n, local);
    if (grads.length < n * GRADS) grads = new Float64Array(Math.ceil(n * 1.5) * GRADS);
    const g = local;
    const d = grads;
    d.fill(0, 0, n * GRADS);
    const x0 = (tile % tilesX) * TILE;
    const y0 = Math.floor(tile / tilesX) * TILE;
    const x1 = Math.min(width, x0 + TILE);
    const y1 = Math.min(height, y0 + TILE);
    for (let y = y0; y < y1; y++) {
      const py = y + 0.5;
      for (let x = x0; x < x1; x++) {
        const p = y * width + x;
        const last = lastIdx[p]! - start;
        if (last < 0) continue;
        const px = x + 0.5;
        const dc0 = dImage[3 * p]!;
        const dc1 = dImage[3 * p + 1]!;
        const dc2 = dImage[3 * p + 2]!;
        const tFinal = finalT[p]!;
        // What lies behind Gaussian j: the colour composited after it, plus the background.
        let behind0 = tFinal * bg0;
        let behind1 = tFinal * bg1;
        let behind2 = tFinal * bg2;
        let T = tFinal;
        for (let j = last, o = last * STRIDE; j >= 0; j--, o -= STRIDE) {
          const dx = g[o]! - px;
          const dy = g[o + 1]! - py;
          const conA = g[o + 2]!;
          const conB = g[o + 3]!;
          const conC = g[o + 4]!;
          const sigma = 0.5 * (conA * dx * dx + conC * dy * dy) + conB * dx * dy;
          if (sigma < 0 || sigma > g[o + 9]!) continue;
          const vis = Math.exp(-sigma);
          const raw = g[o + 5]! * vis;
          const al = raw < MAX_ALPHA ? raw : MAX_ALPHA;
          const oneMinus = 1 - al;
          T /= oneMinus;
          const w = al * T;
          const c0 = g[o + 6]!;
          const c1 = g[o + 7]!;
          const c2 = g[o + 8]!;
          const q = j * GRADS;
          d[q + 6] = d[q + 6]! + w * dc0;
          d[q + 7] = d[q + 7]! + w * dc1;
          d[q + 8] = d[q + 8]! + w * dc2;
          if (raw < MAX_ALPHA) {
            const dAlpha = dc0 * (c0 * T - behind0 / oneMinus) + dc1 * (c1 * T - behind1 / oneMinus) + dc2 * (c2 * T - behind2 / oneMinus);
            const dSigma = -raw * dAlpha;
            d[q] = d[q]! + dSigma * (conA * dx + conB * dy);
            d[q + 1] = d[q + 1]! + dSigma * (conB * dx + conC * dy);
            d[q + 2] = d[q + 2]! + 0.5 * dSigma * dx * dx;
            d[q + 3] = d[q + 3]! + dSigma * dx * dy;
            d[q + 4] = d[q + 4]! + 0.5 * dSigma * dy * dy;
            d[q + 5] = d[q + 5]! + vis * dAlpha;
          }
          behind0 += w * c0;
          behind1 += w * c1;
          behind2 += w * c2;
        }
      }
    }
    for (let j = 0; j < n; j++) {
      const i = isects[start + j]!;
      const q = j * GRADS;
      tMean2d[2 * i] = tMean2d[2 * i]! + d[q]!;
      tMean2d[2 * i + 1] = tMean2d[2 * i + 1]! + d[q + 1]!;
      tConic[3 * i] = tConic[3 * i]! + d[q + 2]!;
      tConic[3 * i + 1] = tConic[3 * i + 1]! + d[q + 3]!;
      tConic[3 * i + 2] = tConic[3 * i + 2]! + d[q + 4]!;
      tAlpha[i] = tAlpha[i]! + d[q + 5]!;
      tColor[3 * i] = tColor[3 * i]! + d[q + 6]!;
      tColor[3 * i + 1] = tColor[3 * i + 1]! + d[q + 7]!;
      tColor[3 * i + 2] = tColor[3 * i + 2]! + d[q + 8]!;
    }
  }
}
