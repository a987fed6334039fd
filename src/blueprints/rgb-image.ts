import sharp from 'sharp';

/** Decoded 8-bit RGB pixels, row-major. */
export interface RgbImage {
  width: number;
  height: number;
  data: Buffer;
}

/** Decodes any image sharp reads to RGB; with `size`, resized to exactly that (a model's output back to the photo's size). */
export async function readRgb(bytes: Uint8Array, size?: { width: number; height: number }): Promise<RgbImage> {
  let image = sharp(bytes, { failOn: 'error' }).rotate().removeAlpha().toColourspace('srgb');
  if (size) image = image.resize(size.width, size.height, { fit: 'fill' });
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

export function writePng(image: RgbImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
}
