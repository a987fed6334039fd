import sharp from 'sharp';

/**
 * Variance of the Laplacian of the image's luminance (at `width` pixels wide): the usual
 * focus / motion-blur measure — a sharp frame has strong, varied second derivatives.
 */
export async function laplacianVariance(path: string, width = 320): Promise<number> {
  const { data, info } = await sharp(path).greyscale().resize({ width, withoutEnlargement: true }).raw().toBuffer({ resolveWithObject: true });
  const w = info.width;
  const h = info.height;
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const value = data[i - w]! + data[i + w]! + data[i - 1]! + data[i + 1]! - 4 * data[i]!;
      sum += value;
      sumSq += value * value;
      n++;
    }
  }
  if (!n) return 0;
  const mean = sum / n;
  return sumSq / n - mean * mean;
}
