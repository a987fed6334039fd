import { type BinaryMask, connectedComponents, emptyMask } from '../formats/mask.ts';
import type { RgbImage } from './rgb-image.ts';

export interface DifferenceOptions {
  /** A pixel changed when some channel moved more than this (0–255). Default 40. */
  threshold?: number;
  /** Changed specks smaller than this many pixels are noise. Default 0.05 % of the image, at least 4. */
  minArea?: number;
}

/**
 * The label of a mask-free edit: the pixels the model changed, inside `allowed` (the product),
 * without isolated specks. Edit models re-render the whole picture, so small changes everywhere
 * are ignored by the threshold.
 */
export function differenceLabel(original: RgbImage, edited: RgbImage, allowed: BinaryMask, options: DifferenceOptions = {}): BinaryMask {
  const { width, height } = original;
  if (edited.width !== width || edited.height !== height) throw new Error(`edited image is ${edited.width}x${edited.height}, the original ${width}x${height}`);
  const threshold = options.threshold ?? 40;
  const minArea = options.minArea ?? Math.max(4, Math.round(width * height * 0.0005));
  const changed = emptyMask(width, height);
  for (let i = 0; i < changed.data.length; i++) {
    if (!allowed.data[i]) continue;
    const o = i * 3;
    const delta = Math.max(
      Math.abs(original.data[o]! - edited.data[o]!),
      Math.abs(original.data[o + 1]! - edited.data[o + 1]!),
      Math.abs(original.data[o + 2]! - edited.data[o + 2]!),
    );
    changed.data[i] = delta > threshold ? 1 : 0;
  }
  const { labels, areas } = connectedComponents(changed);
  for (let i = 0; i < labels.length; i++) if (labels[i] && areas[labels[i]! - 1]! < minArea) changed.data[i] = 0;
  return changed;
}
