import sharp from 'sharp';

/** A binary mask: `data[y * width + x]` is 1 inside, 0 outside. */
export interface BinaryMask {
  width: number;
  height: number;
  data: Uint8Array;
}

/** [x, y, w, h] in pixels from the top-left corner: the COCO convention. */
export type PixelBox = [x: number, y: number, w: number, h: number];

export function emptyMask(width: number, height: number): BinaryMask {
  return { width, height, data: new Uint8Array(width * height) };
}

/**
 * Decodes a mask image (PNG, or anything sharp reads). A mask with transparency (a canvas
 * drawing) is its alpha; an opaque one is white (≥ 128) on black.
 */
export async function decodeMask(bytes: Uint8Array): Promise<BinaryMask> {
  const image = sharp(bytes, { failOn: 'error' });
  const { hasAlpha } = await image.metadata();
  const { data, info } = await image.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const pixels = info.width * info.height;
  let transparent = false;
  if (hasAlpha) for (let i = 0; i < pixels && !transparent; i++) transparent = data[i * 4 + 3]! < 255;
  const mask = emptyMask(info.width, info.height);
  for (let i = 0; i < pixels; i++) {
    const o = i * 4;
    const value = transparent ? data[o + 3]! : 0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]!;
    mask.data[i] = value >= 128 ? 1 : 0;
  }
  return mask;
}

/** A one-channel PNG, 255 inside and 0 outside (MVTec's ground-truth convention). */
export function encodeMask(mask: BinaryMask): Promise<Buffer> {
  const grey = Buffer.alloc(mask.data.length);
  for (let i = 0; i < grey.length; i++) grey[i] = mask.data[i] ? 255 : 0;
  return sharp(grey, { raw: { width: mask.width, height: mask.height, channels: 1 } })
    .png({ compressionLevel: 9, palette: false })
    .toBuffer();
}

export function maskArea(mask: BinaryMask): number {
  let area = 0;
  for (const value of mask.data) area += value;
  return area;
}

/** The tightest box around the mask's pixels; undefined for an empty mask. */
export function maskBox(mask: BinaryMask): PixelBox | undefined {
  const { width, height, data } = mask;
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (!data[row + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      y1 = y;
    }
  }
  return x1 < 0 ? undefined : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

/** A mask with the box filled (clipped to the image). */
export function boxMask(width: number, height: number, box: PixelBox): BinaryMask {
  const mask = emptyMask(width, height);
  const [x, y, w, h] = box;
  for (let yy = Math.max(0, y); yy < Math.min(height, y + h); yy++)
    for (let xx = Math.max(0, x); xx < Math.min(width, x + w); xx++) mask.data[yy * width + xx] = 1;
  return mask;
}

/** An axis-aligned ellipse inscribed in the box. */
export function ellipseMask(width: number, height: number, box: PixelBox): BinaryMask {
  const mask = emptyMask(width, height);
  const [x, y, w, h] = box;
  const cx = x + w / 2;
  const cy = y + h / 2;
  for (let yy = Math.max(0, y); yy < Math.min(height, y + h); yy++)
    for (let xx = Math.max(0, x); xx < Math.min(width, x + w); xx++) {
      if (((xx + 0.5 - cx) / (w / 2)) ** 2 + ((yy + 0.5 - cy) / (h / 2)) ** 2 <= 1) mask.data[yy * width + xx] = 1;
    }
  return mask;
}

/** Pixels set in both masks. */
export function intersectMasks(a: BinaryMask, b: BinaryMask): BinaryMask {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`mask sizes differ: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  const out = emptyMask(a.width, a.height);
  for (let i = 0; i < out.data.length; i++) out.data[i] = a.data[i]! & b.data[i]!;
  return out;
}

/**
 * Labels 4-connected components: `labels[i]` is 0 outside, 1…count inside, numbered in
 * raster order of each component's first pixel.
 */
export function connectedComponents(mask: BinaryMask): { labels: Int32Array; count: number; areas: number[] } {
  const { width, height, data } = mask;
  const labels = new Int32Array(width * height);
  const areas: number[] = [];
  const stack: number[] = [];
  let count = 0;
  for (let start = 0; start < data.length; start++) {
    if (!data[start] || labels[start]) continue;
    count++;
    let area = 0;
    labels[start] = count;
    stack.push(start);
    while (stack.length) {
      const i = stack.pop()!;
      area++;
      const x = i % width;
      const neighbours = [x > 0 ? i - 1 : -1, x < width - 1 ? i + 1 : -1, i - width, i + width];
      for (const n of neighbours) {
        if (n < 0 || n >= data.length || !data[n] || labels[n]) continue;
        labels[n] = count;
        stack.push(n);
      }
    }
    areas.push(area);
  }
  return { labels, count, areas };
}
