import { gatherTile, MAX_ALPHA, MIN_TRANSMITTANCE, negExp, STRIDE } from './tile-gather.ts';
import { type Arrays, FRAME, TILE } from './workspace.ts';

let local: Float64Array = new Float64Array(1024 * STRIDE);
const PIXELS = TILE * TILE;
const trans = new Float64Array(PIXELS);
const red = new Float64Array(PIXELS);
const green = new Float64Array(PIXELS);
const blue = new Float64Array(PIXELS);
const last = new Int32Array(PIXELS);
const done = new Uint8Array(PIXELS);

/**
 * Front-to-back alpha compositing of this thread's tiles, Gaussian by Gaussian over only the
 * pixels of its bounding box (per-pixel state in tile-local arrays), until every pixel of the
 * tile is opaque. Keeps, per pixel, the final transmittance and the last intersection that
 * contributed, which is where the backward pass starts.
 */
export function rasterizeForwardKernel(a: Arrays, part: number): void {
  const f = a.frame;
  const width = f[FRAME.width]! | 0;
  const height = f[FRAME.height]! | 0;
  const tilesX = f[FRAME.tilesX]! | 0;
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
    const x1 = Math.min(width, x0 + TILE) - 1;
    const y1 = Math.min(height, y0 + TILE) - 1;
    trans.fill(1);
    red.fill(0);
    green.fill(0);
    blue.fill(0);
    last.fill(-1);
    done.fill(0);
    let remaining = (x1 - x0 + 1) * (y1 - y0 + 1);
    for (let j = 0, o = 0; j < n && remaining > 0; j++, o += STRIDE) {
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
      const cut = g[o + 9]!;
      const c0 = g[o + 6]!;
      const c1 = g[o + 7]!;
      const c2 = g[o + 8]!;
      for (let y = ya; y <= yb; y++) {
        const dy = my - (y + 0.5);
        const row = (y - y0) * TILE - x0;
        for (let x = xa; x <= xb; x++) {
          const p = row + x;
          if (done[p] === 1) continue;
          const dx = mx - (x + 0.5);
          const sigma = 0.5 * (conA * dx * dx + conC * dy * dy) + conB * dx * dy;
          if (sigma < 0 || sigma > cut) continue;
          const al = Math.min(MAX_ALPHA, opacity * negExp(sigma));
          const T = trans[p]!;
          const next = T * (1 - al);
          if (next <= MIN_TRANSMITTANCE) {
            done[p] = 1;
            remaining--;
            continue;
          }
          const w = al * T;
          red[p] = red[p]! + w * c0;
          green[p] = green[p]! + w * c1;
          blue[p] = blue[p]! + w * c2;
          trans[p] = next;
          last[p] = j;
        }
      }
    }
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const p = (y - y0) * TILE + (x - x0);
        const q = y * width + x;
        const T = trans[p]!;
        image[3 * q] = red[p]! + T * bg0;
        image[3 * q + 1] = green[p]! + T * bg1;
        image[3 * q + 2] = blue[p]! + T * bg2;
        finalT[q] = T;
        lastIdx[q] = start + last[p]!;
      }
    }
  }
}
