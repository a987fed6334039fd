import { type BinaryMask, emptyMask } from './mask.ts';

/** COCO's uncompressed run-length encoding: `size` is [height, width], runs go down columns. */
export interface UncompressedRle {
  size: [height: number, width: number];
  /** Alternating run lengths, starting with a (possibly empty) run of zeros. */
  counts: number[];
}

/** Encodes column-major (Fortran order), as pycocotools does. */
export function encodeRle(mask: BinaryMask): UncompressedRle {
  const { width, height, data } = mask;
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  for (let x = 0; x < width; x++)
    for (let y = 0; y < height; y++) {
      const value = data[y * width + x]!;
      if (value !== current) {
        counts.push(run);
        run = 0;
        current = value;
      }
      run++;
    }
  counts.push(run);
  return { size: [height, width], counts };
}

export function decodeRle(rle: UncompressedRle): BinaryMask {
  const [height, width] = rle.size;
  const mask = emptyMask(width, height);
  let position = 0;
  rle.counts.forEach((run, index) => {
    if (index % 2) {
      for (let p = position; p < position + run; p++) {
        const x = Math.floor(p / height);
        mask.data[(p - x * height) * width + x] = 1;
      }
    }
    position += run;
  });
  if (position !== width * height) throw new Error(`RLE runs cover ${position} pixels, the image has ${width * height}`);
  return mask;
}
