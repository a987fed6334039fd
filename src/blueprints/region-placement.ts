import { type BinaryMask, ellipseMask, maskBox, type PixelBox } from '../formats/mask.ts';
import { seededRandom } from '../domain/seeded-random.ts';

/**
 * An elliptical defect region placed at a seeded spot entirely inside the product, about
 * `fraction` of the product's size across; smaller when nothing that big fits. Undefined when
 * the product is too small for even a few pixels.
 */
export function placeRegion(product: BinaryMask, seed: number, fraction = 0.18): BinaryMask | undefined {
  const bounds = maskBox(product);
  if (!bounds) return undefined;
  const [bx, by, bw, bh] = bounds;
  const random = seededRandom(seed);
  for (let scale = fraction; scale * Math.min(bw, bh) >= 3; scale *= 0.8) {
    const w = Math.max(3, Math.round(bw * scale));
    const h = Math.max(3, Math.round(bh * scale * 0.8));
    for (let tries = 0; tries < 100; tries++) {
      const box: PixelBox = [bx + Math.floor(random() * Math.max(1, bw - w + 1)), by + Math.floor(random() * Math.max(1, bh - h + 1)), w, h];
      const region = ellipseMask(product.width, product.height, box);
      if (region.data.every((v, i) => !v || product.data[i])) return region;
    }
  }
  return undefined;
}
