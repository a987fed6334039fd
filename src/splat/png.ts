import sharp from 'sharp';
import type { RenderedImage } from './view.ts';

/** A rendered image as PNG bytes (clamped to 0..1, 8-bit sRGB), e.g. for progress previews. */
export function encodePng(image: RenderedImage): Promise<Buffer> {
  const bytes = new Uint8Array(image.width * image.height * 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, image.rgb[i]!)) * 255);
  return sharp(bytes, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
}
