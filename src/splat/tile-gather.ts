import type { Arrays } from './workspace.ts';

/** Values per Gaussian in a tile's gathered list: x, y, conic A B C, opacity, RGB, σ cut-off. */
export const STRIDE = 10;
/** Opacity is clamped below 1 so transmittance never reaches exactly 0 (and stays invertible). */
export const MAX_ALPHA = 0.99;
/** A pixel stops compositing once its transmittance would fall to this. */
export const MIN_TRANSMITTANCE = 1e-4;
const MIN_ALPHA = 1 / 255;

/**
 * Copies a tile's Gaussians (front to back) into a dense local list so the per-pixel loops
 * read contiguous memory, with each one's σ cut-off ln(255·opacity): beyond it α < 1/255 and
 * the Gaussian is skipped without an exp. Forward and backward share this test exactly.
 * Returns the scratch (grown if needed).
 */
export function gatherTile(a: Arrays, start: number, end: number, local: Float64Array): Float64Array {
  const n = end - start;
  const out = local.length >= n * STRIDE ? local : new Float64Array(Math.ceil(n * 1.5) * STRIDE);
  const { isects, mean2d, conic, alpha, color } = a;
  for (let j = 0; j < n; j++) {
    const i = isects[start + j]!;
    const o = j * STRIDE;
    const opacity = alpha[i]!;
    out[o] = mean2d[2 * i]!;
    out[o + 1] = mean2d[2 * i + 1]!;
    out[o + 2] = conic[3 * i]!;
    out[o + 3] = conic[3 * i + 1]!;
    out[o + 4] = conic[3 * i + 2]!;
    out[o + 5] = opacity;
    out[o + 6] = color[3 * i]!;
    out[o + 7] = color[3 * i + 1]!;
    out[o + 8] = color[3 * i + 2]!;
    out[o + 9] = opacity > MIN_ALPHA ? Math.log(opacity / MIN_ALPHA) : -1;
  }
  return out;
}
