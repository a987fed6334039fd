import sharp from 'sharp';
import { type CocoAnnotation, type CocoDataset, type CocoImage, type CocoSegmentation, cocoAnnotation } from '../formats/coco.ts';
import { decodeMask, encodeMask } from '../formats/mask.ts';
import { mvtecPaths, pathSlug } from '../formats/mvtec.ts';
import { yoloDataYaml, yoloRow } from '../formats/yolo.ts';
import { ZipWriter } from '../formats/zip-writer.ts';
import type { PromptStrategy, Rating } from '../domain/blueprint-model.ts';
import { validationObjects } from './dataset-split.ts';

export type ExportSelection = 'approved' | 'approved_and_unrated' | 'all';

export interface ExportOptions {
  /** Which completed generations go in: approved only (default), also unrated ones, or all but rejected. */
  include: ExportSelection;
  /** Share of objects held out for validation. */
  valFraction: number;
  splitSeed: number;
  segmentation: CocoSegmentation;
  /** The original photos as defect-free images (negatives / MVTec "good"). */
  negatives: boolean;
}

export interface ExportInput {
  blueprint: { id: string; name: string; productType: string | null; createdAt: string };
  objects: { id: string; name: string; sha256: string; position: number; blobKey: string }[];
  defects: { id: string; name: string; categoryId: number }[];
  prompts: { id: string; parentId: string | null; text: string; strategy: PromptStrategy }[];
  generations: {
    id: string;
    objectId: string;
    defectId: string;
    promptId: string;
    model: string;
    seed: number;
    requestId: string | null;
    rating: Rating | null;
    feedback: string | null;
    imageKey: string;
    maskKey: string;
  }[];
}

export interface ExportSummary {
  images: { train: number; val: number };
  annotations: number;
  negatives: number;
  generations: number;
  categories: number;
}

/** Every entry of an export carries this time (local, as ZIP keeps it), so the same input makes the same bytes. */
const FIXED_TIME = new Date(2020, 0, 1);

const include: Record<ExportSelection, (rating: Rating | null) => boolean> = {
  approved: (rating) => rating === 'approved',
  approved_and_unrated: (rating) => rating === 'approved' || rating === null,
  all: (rating) => rating !== 'rejected',
};

interface Entry {
  name: string;
  bytes: Uint8Array;
  compress: boolean;
}

/**
 * Writes a blueprint's dataset as one ZIP, byte-identical for the same input: COCO
 * (`annotations/instances_{train,val}.json`), YOLO (`images/…`, `labels/…`, `data.yaml`),
 * MVTec-style folders (`mvtec/<object>/…` with binary masks) and `manifest.json` with every
 * image's lineage. Labels are read from the stored masks: bbox and area are the mask's own.
 */
export async function writeDatasetZip(input: ExportInput, options: ExportOptions, read: (key: string) => Promise<Buffer>, zipPath: string): Promise<ExportSummary> {
  const defects = [...input.defects].sort((a, b) => a.categoryId - b.categoryId);
  const classIndex = new Map(defects.map((d, i) => [d.id, i]));
  const defectById = new Map(defects.map((d) => [d.id, d]));
  const objects = [...input.objects].sort((a, b) => a.position - b.position);
  const objectSlug = new Map(objects.map((o) => [o.id, `o${o.position + 1}-${pathSlug(o.name, 'object')}`]));
  const defectSlug = new Map(defects.map((d) => [d.id, `c${d.categoryId}-${pathSlug(d.name, 'defect')}`]));
  const promptById = new Map(input.prompts.map((p) => [p.id, p]));
  const val = validationObjects(objects, options.splitSeed, options.valFraction);
  const splitOf = (objectId: string) => (val.has(objectId) ? 'val' : 'train');
  const selected = input.generations
    .filter((g) => include[options.include](g.rating) && defectById.has(g.defectId) && objectSlug.has(g.objectId))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const entries: Entry[] = [];
  const coco: Record<'train' | 'val', { images: CocoImage[]; annotations: CocoAnnotation[] }> = { train: { images: [], annotations: [] }, val: { images: [], annotations: [] } };
  const manifestImages: Record<string, unknown>[] = [];
  const mvtecCount = new Map<string, number>();
  const nextIndex = (key: string) => {
    const n = mvtecCount.get(key) ?? 0;
    mvtecCount.set(key, n + 1);
    return n;
  };
  let imageId = 0;
  const addImage = (split: 'train' | 'val', file: string, png: Uint8Array, width: number, height: number, labelRows: string[]) => {
    entries.push({ name: `images/${split}/${file}`, bytes: png, compress: false });
    entries.push({ name: `labels/${split}/${file.replace(/\.png$/, '.txt')}`, bytes: Buffer.from(labelRows.map((r) => `${r}\n`).join('')), compress: true });
    const image: CocoImage = { id: ++imageId, width, height, file_name: file };
    coco[split].images.push(image);
    return image;
  };

  if (options.negatives) {
    for (const object of objects) {
      const png = await sharp(await read(object.blobKey)).rotate().png().toBuffer({ resolveWithObject: true });
      const split = splitOf(object.id);
      const file = `${objectSlug.get(object.id)}-original.png`;
      addImage(split, file, png.data, png.info.width, png.info.height, []);
      entries.push({ name: `mvtec/${mvtecPaths.good(objectSlug.get(object.id)!, nextIndex(`${object.id}:good`))}`, bytes: png.data, compress: false });
      manifestImages.push({ file: `images/${split}/${file}`, split, kind: 'original', object: objectInfo(object) });
    }
  }

  let annotationId = 0;
  for (const generation of selected) {
    const png = await read(generation.imageKey);
    const mask = await decodeMask(await read(generation.maskKey));
    const split = splitOf(generation.objectId);
    const object = objects.find((o) => o.id === generation.objectId)!;
    const defect = defectById.get(generation.defectId)!;
    const file = `${objectSlug.get(object.id)}-${defectSlug.get(defect.id)}-${generation.id}.png`;
    const annotation = cocoAnnotation(mask, { id: annotationId + 1, imageId: imageId + 1, categoryId: defect.categoryId }, options.segmentation);
    const rows = annotation ? [yoloRow(classIndex.get(defect.id)!, annotation.bbox, mask.width, mask.height)] : [];
    addImage(split, file, png, mask.width, mask.height, rows);
    if (annotation) {
      annotationId++;
      coco[split].annotations.push(annotation);
    }
    const index = nextIndex(`${object.id}:${defect.id}`);
    const mvtecCategory = objectSlug.get(object.id)!;
    const mvtecDefect = defectSlug.get(defect.id)!;
    entries.push({ name: `mvtec/${mvtecPaths.defect(mvtecCategory, mvtecDefect, index)}`, bytes: png, compress: false });
    entries.push({ name: `mvtec/${mvtecPaths.mask(mvtecCategory, mvtecDefect, index)}`, bytes: await encodeMask(mask), compress: false });
    manifestImages.push({
      file: `images/${split}/${file}`,
      split,
      kind: 'generated',
      generationId: generation.id,
      object: objectInfo(object),
      defect: { id: defect.id, name: defect.name, categoryId: defect.categoryId },
      promptChain: promptChain(generation.promptId, promptById),
      model: generation.model,
      seed: generation.seed,
      falRequestId: generation.requestId,
      rating: generation.rating,
      feedback: generation.feedback,
      bbox: annotation?.bbox ?? null,
      area: annotation?.area ?? 0,
    });
  }

  const categories = defects.map((d) => ({ id: d.categoryId, name: d.name, supercategory: 'defect' }));
  for (const split of ['train', 'val'] as const) {
    const dataset: CocoDataset = {
      info: {
        description: `${input.blueprint.name} — defect dataset (Recon blueprint ${input.blueprint.id})`,
        version: '1.0',
        year: Number(input.blueprint.createdAt.slice(0, 4)),
        date_created: input.blueprint.createdAt,
      },
      licenses: [],
      images: coco[split].images,
      annotations: coco[split].annotations,
      categories,
    };
    entries.push({ name: `annotations/instances_${split}.json`, bytes: Buffer.from(JSON.stringify(dataset)), compress: true });
  }
  entries.push({
    name: 'data.yaml',
    bytes: Buffer.from(yoloDataYaml({ path: '.', train: 'images/train', val: 'images/val', names: defects.map((d) => d.name) })),
    compress: true,
  });
  // Ultralytics refuses a data.yaml whose val folder does not exist; with one object it holds nothing.
  if (!coco.val.images.length) entries.push({ name: 'images/val/.keep', bytes: new Uint8Array(0), compress: false });
  const summary: ExportSummary = {
    images: { train: coco.train.images.length, val: coco.val.images.length },
    annotations: annotationId,
    negatives: options.negatives ? objects.length : 0,
    generations: selected.length,
    categories: categories.length,
  };
  const manifest = {
    blueprint: input.blueprint,
    options,
    split: { seed: options.splitSeed, valObjects: objects.filter((o) => val.has(o.id)).map((o) => o.id) },
    categories: defects.map((d, i) => ({ id: d.categoryId, yoloClass: i, name: d.name, defectId: d.id })),
    summary,
    images: manifestImages,
  };
  entries.push({ name: 'manifest.json', bytes: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), compress: true });

  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const zip = await ZipWriter.create(zipPath, { modifiedAt: FIXED_TIME });
  try {
    for (const entry of entries) await zip.add(entry.name, entry.bytes, { compress: entry.compress, level: 6 });
    await zip.close();
  } catch (error) {
    await zip.abort();
    throw error;
  }
  return summary;
}

function objectInfo(object: ExportInput['objects'][number]) {
  return { id: object.id, name: object.name, sha256: object.sha256 };
}

/** The prompt and its ancestors, root first: how the text that made an image came about. */
function promptChain(promptId: string, prompts: Map<string, ExportInput['prompts'][number]>) {
  const chain: { id: string; strategy: PromptStrategy; text: string }[] = [];
  const seen = new Set<string>();
  for (let id: string | null = promptId; id && !seen.has(id); id = prompts.get(id)?.parentId ?? null) {
    seen.add(id);
    const prompt = prompts.get(id);
    if (!prompt) break;
    chain.unshift({ id: prompt.id, strategy: prompt.strategy, text: prompt.text });
  }
  return chain;
}
