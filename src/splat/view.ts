import type { Camera } from './camera.ts';

/** A photo and its camera, at working resolution: RGB interleaved, 0..1, row-major. */
export interface View {
  name: string;
  camera: Camera;
  image: Float32Array;
}

/** A rendered image: RGB interleaved, row-major, not clamped. */
export interface RenderedImage {
  width: number;
  height: number;
  rgb: Float32Array;
}

/**
 * The evaluation convention (Mip-NeRF 360, 3DGS, gsplat): sorted by name, every `every`-th
 * view (index % every === 0) is held out for testing and never trained on. every = 0 holds none out.
 */
export function splitViews<T extends { name: string }>(views: readonly T[], every = 8): { train: T[]; test: T[] } {
  const sorted = [...views].sort((p, q) => (p.name < q.name ? -1 : p.name > q.name ? 1 : 0));
  if (every <= 0) return { train: sorted, test: [] };
  return { train: sorted.filter((_, i) => i % every !== 0), test: sorted.filter((_, i) => i % every === 0) };
}
