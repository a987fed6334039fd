import { type BinaryMask, emptyMask } from '../../src/formats/mask.ts';

/**
 * What pycocotools (cocodataset/cocoapi, PythonAPI/pycocotools) needs of a ground-truth file, as
 * TypeScript: `COCO.createIndex` indexes images, annotations and categories by id (a duplicate id
 * silently replaces the first); `annToRLE` sends a list segmentation to `frPyObjects`, which reads
 * a first element of exactly 4 numbers as a *box* and needs more than 4 for a polygon; an RLE
 * dict needs `size` = [h, w] and counts covering h·w pixels (`rleDecode` writes past the buffer
 * otherwise); COCOeval reads `area`, `iscrowd` (crowd regions are ignored) and `bbox`.
 * Returns every violation found, empty when the file is acceptable.
 */
export function checkCocoRules(dataset: any): string[] {
  const errors: string[] = [];
  if (!dataset || typeof dataset !== 'object' || Array.isArray(dataset)) return ['annotation file format not supported: not a dict'];
  for (const key of ['images', 'annotations', 'categories']) if (!Array.isArray(dataset[key])) errors.push(`"${key}" is not a list`);
  if (errors.length) return errors;
  const images = new Map<number, any>();
  for (const image of dataset.images) {
    if (!Number.isInteger(image.id)) errors.push(`image id ${JSON.stringify(image.id)} is not an integer`);
    if (images.has(image.id)) errors.push(`duplicate image id ${image.id}`);
    images.set(image.id, image);
    if (!(Number.isInteger(image.width) && image.width > 0 && Number.isInteger(image.height) && image.height > 0)) {
      errors.push(`image ${image.id}: width/height must be positive integers`);
    }
    if (typeof image.file_name !== 'string' || !image.file_name) errors.push(`image ${image.id}: file_name missing`);
  }
  const categories = new Set<number>();
  for (const category of dataset.categories) {
    if (!Number.isInteger(category.id)) errors.push(`category id ${JSON.stringify(category.id)} is not an integer`);
    if (categories.has(category.id)) errors.push(`duplicate category id ${category.id}`);
    categories.add(category.id);
    if (typeof category.name !== 'string' || !category.name) errors.push(`category ${category.id}: name missing`);
  }
  const annotations = new Set<number>();
  for (const ann of dataset.annotations) {
    const at = `annotation ${ann.id}`;
    if (!Number.isInteger(ann.id)) errors.push(`${at}: id is not an integer`);
    if (annotations.has(ann.id)) errors.push(`duplicate annotation id ${ann.id}`);
    annotations.add(ann.id);
    const image = images.get(ann.image_id);
    if (!image) errors.push(`${at}: image_id ${ann.image_id} is not an image`);
    if (!categories.has(ann.category_id)) errors.push(`${at}: category_id ${ann.category_id} is not a category`);
    if (ann.iscrowd !== 0 && ann.iscrowd !== 1) errors.push(`${at}: iscrowd must be 0 or 1`);
    if (!(typeof ann.area === 'number' && ann.area > 0)) errors.push(`${at}: area must be a positive number`);
    const box = ann.bbox as number[];
    if (!(Array.isArray(box) && box.length === 4 && box.every((v: unknown) => typeof v === 'number'))) {
      errors.push(`${at}: bbox must be [x, y, w, h]`);
    } else if (image && (box[0]! < 0 || box[1]! < 0 || box[2]! <= 0 || box[3]! <= 0 || box[0]! + box[2]! > image.width || box[1]! + box[3]! > image.height)) {
      errors.push(`${at}: bbox ${JSON.stringify(box)} is empty or outside the ${image.width}x${image.height} image`);
    }
    if (image) errors.push(...segmentationErrors(ann, image).map((e) => `${at}: ${e}`));
  }
  return errors;
}

function segmentationErrors(ann: any, image: any): string[] {
  const segm = ann.segmentation;
  if (Array.isArray(segm)) {
    if (!segm.length) return ['segmentation has no polygon'];
    if (ann.iscrowd === 1) return ['a crowd annotation needs an RLE segmentation'];
    if (segm[0]?.length === 4) return ['the first polygon has 4 numbers: pycocotools reads it as a box'];
    const errors: string[] = [];
    segm.forEach((polygon: unknown, i: number) => {
      if (!Array.isArray(polygon) || !polygon.every((v) => typeof v === 'number' && Number.isFinite(v))) errors.push(`polygon ${i} is not a list of numbers`);
      else if (polygon.length < 6 || polygon.length % 2) errors.push(`polygon ${i} has ${polygon.length} numbers (needs an even count ≥ 6)`);
      else if (polygon.some((v, j) => v < 0 || v > (j % 2 ? image.height : image.width))) errors.push(`polygon ${i} leaves the image`);
    });
    return errors;
  }
  if (!segm || typeof segm !== 'object' || !('counts' in segm) || !('size' in segm)) return ['segmentation is neither polygons nor RLE'];
  const [h, w] = segm.size ?? [];
  if (h !== image.height || w !== image.width) return [`RLE size ${JSON.stringify(segm.size)} is not the image's [${image.height}, ${image.width}]`];
  if (typeof segm.counts === 'string') return [];
  if (!Array.isArray(segm.counts) || !segm.counts.every((c: unknown) => Number.isInteger(c) && (c as number) >= 0)) return ['RLE counts must be non-negative integers'];
  const total = segm.counts.reduce((a: number, b: number) => a + b, 0);
  return total === h * w ? [] : [`RLE counts cover ${total} pixels, the image has ${h * w}`];
}

/**
 * pycocotools' polygon rasteriser (`rleFrPoly` in common/maskApi.c), re-done in TypeScript:
 * vertices scaled ×5 and rounded, edges walked point by point, and a pixel column's boundary
 * crossings turned into runs. Polygons of one annotation are merged (union), as `annToRLE` does.
 */
export function rasterizeCocoPolygons(polygons: number[][], width: number, height: number): BinaryMask {
  const mask = emptyMask(width, height);
  for (const polygon of polygons) {
    const column = rasterizePolygon(polygon, width, height);
    for (let i = 0; i < column.length; i++) {
      if (!column[i]) continue;
      const x = Math.floor(i / height);
      mask.data[(i - x * height) * width + x] = 1;
    }
  }
  return mask;
}

function rasterizePolygon(xy: number[], width: number, height: number): Uint8Array {
  const scale = 5;
  const k = xy.length / 2;
  const x: number[] = [];
  const y: number[] = [];
  for (let j = 0; j < k; j++) {
    x.push(Math.trunc(scale * xy[j * 2]! + 0.5));
    y.push(Math.trunc(scale * xy[j * 2 + 1]! + 0.5));
  }
  x.push(x[0]!);
  y.push(y[0]!);
  const u: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < k; j++) {
    let xs = x[j]!;
    let xe = x[j + 1]!;
    let ys = y[j]!;
    let ye = y[j + 1]!;
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) [xs, xe, ys, ye] = [xe, xs, ye, ys];
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u.push(t + xs);
        v.push(Math.trunc(ys + s * t + 0.5));
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v.push(t + ys);
        u.push(Math.trunc(xs + s * t + 0.5));
      }
    }
  }
  const boundary: number[] = [];
  for (let j = 1; j < u.length; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j]! < u[j - 1]! ? u[j]! : u[j]! - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > width - 1) continue;
    let yd = Math.min(v[j]!, v[j - 1]!);
    yd = (yd + 0.5) / scale - 0.5;
    yd = Math.ceil(Math.min(Math.max(yd, 0), height));
    boundary.push(xd * height + yd);
  }
  boundary.push(height * width);
  boundary.sort((a, b) => a - b);
  // Crossings toggle inside/outside along the column-major pixel order.
  const column = new Uint8Array(width * height);
  let inside = false;
  let previous = 0;
  for (const position of boundary) {
    if (inside) column.fill(1, previous, position);
    inside = !inside;
    previous = position;
  }
  return column;
}
