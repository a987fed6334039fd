import { gatherTile, MAX_ALPHA, MIN_TRANSMITTANCE, STRIDE } from './tile-gather.ts';
import { type Arrays, FRAME, TILE } from './workspace.ts';

let local: Float64Array = new Float64Array(1024 * STRIDE);

/**
 * Front-to-back alpha compositing of this thread's tiles. Keeps, per pixel, the final
 * transmittance and the last intersection that contributed, which is where the backward
 * pass starts walking back.
 */
export function rasterizeForwardKernel(a: Arrays, part: number): void {
  const f = a.frame;
  const width = f[FRAME.width]!;
  const height = f[FRAME.height]!;
  const tilesX = f[FRAME.tilesX]!;
  const bg0 = f[FRAME.background]!;
  const bg1 = f[FRAME.background + 1]!;
  const bg2 = f[FRAME.background + 2]!;
  const { tileStart, image, finalT, lastIdx } = a;
  const tileEnd = a.tileParts[part + 1]!;
  for (let tile = a.tileParts[part]!; tile < tileEnd; tile++) {
    const start = tileStart[tile]!;
    const n = tileStart[tile + 1]! - start;
    local = gatherTile(a, start, start + n, local);
    const g = local;
    const x0 = (tile % tilesX) * TILE;
    const y0 = Math.floor(tile / tilesX) * TILE;
    const x1 = Math.min(width, x0 + TILE);
    const y1 = Math.min(height, y0 + TILE);
    for (let y = y0; y < y1; y++) {
      const py = y + 0.5;
      for (let x = x0; x < x1; x++) {
        const px = x + 0.5;
        let T = 1;
        let r = 0;
        let gr = 0;
        let b = 0;
        let last = start - 1;
        for (let j = 0, o = 0; j < n; j++, o += STRIDE) {
          const dx = g[o]! - px;
          const dy = g[o + 1]! - py;
          const sigma = 0.5 * (g[o + 2]! * dx * dx + g[o + 4]! * dy * dy) + g[o + 3]! * dx * dy;
          if (sigma < 0 || sigma > g[o + 9]!) continue;
          const al = Math.min(MAX_ALPHA, g[o + 5]! * Math.exp(-sigma));
          const next = T * (1 - al);
          if (next <= MIN_TRANSMITTANCE) break;
          const w = al * T;
          r += w * g[o + 6]!;
          gr += w * g[o + 7]!;
          b += w * g[o + 8]!;
          T = next;
          last = start + j;
        }
        const p = y * width + x;
        image[3 * p] = r + T * bg0;
        image[3 * p + 1] = gr + T * bg1;
        image[3 * p + 2] = b + T * bg2;
        finalT[p] = T;
        lastIdx[p] = last;
      }
    }
  }
}
