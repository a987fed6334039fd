import { type BinaryMask, connectedComponents, emptyMask } from '../formats/mask.ts';
import type { RgbImage } from './rgb-image.ts';

/**
 * The product in a studio-style photo: pixels clearly unlike the background colour (the median
 * of the border), keeping the largest connected part and filling its holes. Used to place
 * regions automatically and to confine the labels of mask-free edits to the product.
 */
export function productForeground(image: RgbImage, minDistance = 48): BinaryMask {
  const { width, height, data } = image;
  const border: number[] = [];
  for (let x = 0; x < width; x++) border.push(x, (height - 1) * width + x);
  for (let y = 1; y < height - 1; y++) border.push(y * width, y * width + width - 1);
  const background = [0, 1, 2].map((c) => median(border.map((i) => data[i * 3 + c]!)));
  const spread = median(border.map((i) => distance(data, i, background)));
  const threshold = Math.max(minDistance, 3 * spread);
  const raw = emptyMask(width, height);
  for (let i = 0; i < raw.data.length; i++) raw.data[i] = distance(data, i, background) > threshold ? 1 : 0;
  const { labels, areas } = connectedComponents(raw);
  if (!areas.length) return raw;
  const largest = areas.indexOf(Math.max(...areas)) + 1;
  const product = emptyMask(width, height);
  for (let i = 0; i < labels.length; i++) product.data[i] = labels[i] === largest ? 1 : 0;
  return fillHoles(product);
}

function distance(data: Buffer, pixel: number, colour: number[]): number {
  return Math.abs(data[pixel * 3]! - colour[0]!) + Math.abs(data[pixel * 3 + 1]! - colour[1]!) + Math.abs(data[pixel * 3 + 2]! - colour[2]!);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? 0;
}

/** Background reachable from the border stays background; everything else is the product. */
function fillHoles(mask: BinaryMask): BinaryMask {
  const { width, height } = mask;
  const outside = new Uint8Array(width * height);
  const stack: number[] = [];
  const push = (i: number) => {
    if (!mask.data[i] && !outside[i]) {
      outside[i] = 1;
      stack.push(i);
    }
  };
  for (let x = 0; x < width; x++) {
    push(x);
    push((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    push(y * width);
    push(y * width + width - 1);
  }
  while (stack.length) {
    const i = stack.pop()!;
    const x = i % width;
    if (x > 0) push(i - 1);
    if (x < width - 1) push(i + 1);
    if (i >= width) push(i - width);
    if (i < (height - 1) * width) push(i + width);
  }
  return { width, height, data: outside.map((v) => 1 - v) };
}
