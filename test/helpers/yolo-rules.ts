import sharp from 'sharp';

const IMG_FORMATS = new Set(['bmp', 'dng', 'jpeg', 'jpg', 'mpo', 'png', 'tif', 'tiff', 'webp', 'pfm', 'heic']);

export interface YoloLabel {
  cls: number;
  cx: number;
  cy: number;
  w: number;
  h: number;
}

export interface YoloCheck {
  errors: string[];
  /** Warnings Ultralytics prints but trains through (duplicate rows dropped, missing labels). */
  warnings: string[];
  names: string[];
  /** Image path → its label rows (empty for a background image). */
  labels: Map<string, YoloLabel[]>;
}

/**
 * Ultralytics' dataset checks (ultralytics/data/utils.py), as TypeScript, over the files of an
 * exported dataset: `check_det_dataset` wants `train` and `val` and `names` (or `nc`, matching
 * when both are given); `img2label_paths` finds each image's label by replacing the last
 * `/images/` with `/labels/` and the extension with `.txt`; `verify_image_label` wants an image
 * of a known format at least 10 px each way, rows of exactly 5 columns, coordinates ≤ 1 and
 * nothing negative (1 % tolerance there), a class below the number of names, and drops
 * duplicate rows with a warning. A missing label file means a background image.
 */
export async function checkYoloRules(files: Map<string, Uint8Array>, yamlPath = 'data.yaml'): Promise<YoloCheck> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const labels = new Map<string, YoloLabel[]>();
  const yaml = files.get(yamlPath);
  if (!yaml) return { errors: [`${yamlPath} missing`], warnings, names: [], labels };
  const data = parseSimpleYaml(Buffer.from(yaml).toString('utf8'));
  for (const key of ['train', 'val']) if (!(key in data)) errors.push(`'${key}:' key missing`);
  if (!('names' in data) && !('nc' in data)) errors.push("either 'names' or 'nc' are required");
  const names = Array.isArray(data.names) ? (data.names as string[]) : [];
  if ('nc' in data && 'names' in data && Number(data.nc) !== names.length) errors.push(`'names' length ${names.length} and 'nc: ${data.nc}' must match`);
  const root = yamlPath.includes('/') ? yamlPath.slice(0, yamlPath.lastIndexOf('/') + 1) : '';
  const base = data.path === '.' || data.path === '' || data.path === undefined ? root : `${root}${data.path}/`;
  for (const split of ['train', 'val']) {
    const folder = `${base}${data[split]}`.replace(/\/$/, '');
    const images = [...files.keys()].filter((name) => name.startsWith(`${folder}/`) && IMG_FORMATS.has(name.split('.').pop()!.toLowerCase()));
    if (!images.length && split === 'train') errors.push(`${split}: no images found in ${folder}`);
    for (const image of images) {
      // Ultralytics' paths are absolute, so '/images/' always has a folder before it.
      const full = `/${image}`;
      const at = full.lastIndexOf('/images/');
      const labelPath = `${full.slice(0, at)}/labels/${full.slice(at + 8).replace(/\.[^.]+$/, '')}.txt`.slice(1);
      const meta = await sharp(files.get(image)!).metadata().catch(() => undefined);
      if (!meta?.format || !IMG_FORMATS.has(meta.format === 'heif' ? 'heic' : meta.format)) {
        errors.push(`${image}: not a readable image`);
        continue;
      }
      if (meta.width! <= 9 || meta.height! <= 9) errors.push(`${image}: image size ${meta.height}x${meta.width} <10 pixels`);
      const text = files.get(labelPath);
      if (!text) {
        warnings.push(`${image}: label missing (background)`);
        labels.set(image, []);
        continue;
      }
      const rows = Buffer.from(text).toString('utf8').trim().split(/\r?\n/).filter((line) => line.length).map((line) => line.split(/\s+/));
      const parsed: YoloLabel[] = [];
      const seen = new Set<string>();
      for (const row of rows) {
        if (row.length > 6) {
          errors.push(`${labelPath}: ${row.length} columns is a segment row, not a detection label`);
          continue;
        }
        if (row.length !== 5) errors.push(`${labelPath}: labels require 5 columns, ${row.length} columns detected`);
        const values = row.map(Number);
        if (values.some((v) => !Number.isFinite(v))) errors.push(`${labelPath}: non-numeric value in "${row.join(' ')}"`);
        if (values.slice(1).some((v) => v > 1.01)) errors.push(`${labelPath}: non-normalized or out of bounds coordinates in "${row.join(' ')}"`);
        if (values.some((v) => v < -0.01)) errors.push(`${labelPath}: negative class labels or coordinate in "${row.join(' ')}"`);
        if (values[0]! >= (names.length || Number(data.nc))) errors.push(`${labelPath}: label class ${values[0]} exceeds dataset class count ${names.length}`);
        if (!Number.isInteger(values[0])) errors.push(`${labelPath}: class ${row[0]} is not an integer`);
        const key = values.join(' ');
        if (seen.has(key)) warnings.push(`${image}: duplicate label removed`);
        else parsed.push({ cls: values[0]!, cx: values[1]!, cy: values[2]!, w: values[3]!, h: values[4]! });
        seen.add(key);
      }
      labels.set(image, parsed);
    }
  }
  return { errors, warnings, names, labels };
}

/** Enough YAML for a data.yaml: top-level scalars and one level of `index: name` (or `- name`) under names. */
function parseSimpleYaml(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let list: string[] | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, '');
    if (!line.trim()) continue;
    const nested = /^\s+(?:(\d+):|-)\s*(.+)$/.exec(line);
    if (nested && list) {
      const value = scalar(nested[2]!);
      if (nested[1] === undefined) list.push(value);
      else list[Number(nested[1])] = value;
      continue;
    }
    const top = /^([A-Za-z_]\w*):\s*(.*)$/.exec(line);
    if (!top) throw new Error(`data.yaml: cannot read line ${JSON.stringify(raw)}`);
    if (top[2] === '') {
      list = [];
      out[top[1]!] = list;
    } else {
      list = undefined;
      out[top[1]!] = scalar(top[2]!);
    }
  }
  return out;
}

function scalar(text: string): string {
  const value = text.trim();
  if (value.startsWith('"')) return JSON.parse(value);
  if (value.startsWith("'")) return value.slice(1, -1).replaceAll("''", "'");
  return value;
}
