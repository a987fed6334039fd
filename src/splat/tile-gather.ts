import type { Arrays } from './workspace.ts';

/** Values per Gaussian in a tile's gathered list: x, y, conic A B C, opacity, RGB, σ cut-off, first and last pixel column and row it can reach. */
export const STRIDE = 14;
/** Opacity is clamped below 1 so transmittance never reaches exactly 0 (and stays invertible). */
export const MAX_ALPHA = 0.99;
/** A pixel stops compositing once its transmittance would fall to this. */
export const MIN_TRANSMITTANCE = 1e-4;
const MIN_ALPHA = 1 / 255;

/**
 * Copies a tile's Gaussians (front to back) into a dense local list so the per-pixel loops
 * read contiguous memory, with each one's σ cut-off ln(255·opacity): beyond it α < 1/255 and
 * the Gaussian is skipped without an exp; and the pixels inside that ellipse's bounding box,
 * the only ones the compositing loops visit. Forward and backward share these tests exactly.
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
    const cut = opacity > MIN_ALPHA ? Math.log(opacity / MIN_ALPHA) : -1;
    out[o + 9] = cut;
    // {d : ½·dᵀQd ≤ cut} spans ±√(2·cut·(Q⁻¹)ₓₓ) in x and ±√(2·cut·(Q⁻¹)ᵧᵧ) in y.
    const a = out[o + 2]!;
    const b = out[o + 3]!;
    const c = out[o + 4]!;
    const k = cut > 0 ? (2 * cut) / (a * c - b * b) : -1;
    const ex = k > 0 ? Math.sqrt(k * c) : -1;
    const ey = k > 0 ? Math.sqrt(k * a) : -1;
    // Pixels whose centre (x + ½) lies in the box; an empty range when ex < 0.
    out[o + 10] = Math.ceil(out[o]! - ex - 0.5);
    out[o + 11] = Math.floor(out[o]! + ex - 0.5);
    out[o + 12] = Math.ceil(out[o + 1]! - ey - 0.5);
    out[o + 13] = Math.floor(out[o + 1]! + ey - 0.5);
  }
  return out;
}


const LOG2E = Math.LOG2E;
const LN2 = Math.LN2;
const POW2 = Float64Array.from({ length: 12 }, (_, n) => 2 ** -n);

/**
 * e^−s for 0 ≤ s ≤ ln 255 (the only range compositing evaluates), to ~2e-7 relative: range
 * reduction by ln 2 and a degree-6 polynomial. Several times faster than Math.exp, which is
 * most of the per-pixel cost; forward and backward both use it, so they stay consistent.
 */
export function negExp(s: number): number {
  const n = Math.round(s * LOG2E);
  const r = n * LN2 - s;
  const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720))))));
  return p * POW2[n]!;
}
