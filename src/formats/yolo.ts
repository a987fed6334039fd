import type { PixelBox } from './mask.ts';

const DIGITS = 6;

/** One Ultralytics detection label row: `class cx cy w h`, normalised to [0, 1] by the image size. */
export function yoloRow(classIndex: number, box: PixelBox, width: number, height: number): string {
  const [x, y, w, h] = box;
  const values = [(x + w / 2) / width, (y + h / 2) / height, w / width, h / height];
  return [String(classIndex), ...values.map((v) => v.toFixed(DIGITS))].join(' ');
}

/**
 * The dataset file Ultralytics trains from: `path` (the dataset root, relative to the YAML's
 * folder when '.'), image folders for train and val (labels are found by replacing `images`
 * with `labels`), and the class names by index.
 */
export function yoloDataYaml(options: { path: string; train: string; val: string; names: readonly string[] }): string {
  const lines = [
    `path: ${JSON.stringify(options.path)}`,
    `train: ${JSON.stringify(options.train)}`,
    `val: ${JSON.stringify(options.val)}`,
    `nc: ${options.names.length}`,
    'names:',
    ...options.names.map((name, index) => `  ${index}: ${JSON.stringify(name)}`),
  ];
  return `${lines.join('\n')}\n`;
}
