import sharp from 'sharp';

/** A small real image (gradient + index-dependent colour) encoded as JPEG or PNG. */
export async function makeImage(index: number, format: 'jpeg' | 'png' | 'webp' = 'jpeg', size = 32): Promise<Buffer> {
  const pixels = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 3;
      pixels[o] = (x * 8 + index * 40) & 255;
      pixels[o + 1] = (y * 8) & 255;
      pixels[o + 2] = (index * 90) & 255;
    }
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).toFormat(format).toBuffer();
}

export function multipart(files: { name: string; data: Buffer | Uint8Array; type?: string }[]): FormData {
  const form = new FormData();
  for (const file of files) {
    form.append('images', new Blob([file.data], { type: file.type ?? 'application/octet-stream' }), file.name);
  }
  return form;
}
