import assert from 'node:assert/strict';
import { ZipReader } from '../../src/formats/zip-reader.ts';
import { decodeMask, maskArea, maskBox } from '../../src/formats/mask.ts';
import { checkCocoRules } from './coco-rules.ts';
import { checkYoloRules } from './yolo-rules.ts';

/** Every file of a ZIP, by name. */
export async function readZip(path: string): Promise<Map<string, Uint8Array>> {
  const zip = await ZipReader.open(path);
  try {
    return new Map(zip.entries.filter((e) => !e.name.endsWith('/')).map((e) => [e.name, zip.read(e)]));
  } finally {
    await zip.close();
  }
}

/**
 * Checks an exported dataset as its consumers would: COCO against pycocotools' rules, YOLO
 * against Ultralytics', YOLO rows against COCO boxes (1e-6), each COCO area and bbox against its
 * MVTec mask's pixels, and the split grouped by object. Returns what tests compare further.
 */
export async function checkDataset(files: Map<string, Uint8Array>) {
  const manifest = JSON.parse(Buffer.from(files.get('manifest.json')!).toString());
  const yolo = await checkYoloRules(files);
  assert.deepEqual(yolo.errors, [], `Ultralytics rules:\n${yolo.errors.join('\n')}`);
  const annotations = new Map<string, { bbox: number[]; area: number; category: number; split: string }>();
  for (const split of ['train', 'val']) {
    const coco = JSON.parse(Buffer.from(files.get(`annotations/instances_${split}.json`)!).toString());
    assert.deepEqual(checkCocoRules(coco), [], `pycocotools rules (${split})`);
    const byImage = new Map(coco.images.map((i: any) => [i.id, i]));
    for (const ann of coco.annotations) {
      const image: any = byImage.get(ann.image_id);
      annotations.set(`images/${split}/${image.file_name}`, { bbox: ann.bbox, area: ann.area, category: ann.category_id, split });
      const rows = yolo.labels.get(`images/${split}/${image.file_name}`)!;
      assert.equal(rows.length, 1);
      const [x, y, w, h] = ann.bbox;
      const row = rows[0]!;
      const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6;
      assert.ok(
        close(row.cx, (x + w / 2) / image.width) && close(row.cy, (y + h / 2) / image.height) && close(row.w, w / image.width) && close(row.h, h / image.height),
        `YOLO row of ${image.file_name} disagrees with its COCO box`,
      );
      const category = manifest.categories.find((c: any) => c.id === ann.category_id);
      assert.equal(row.cls, category.yoloClass);
    }
  }
  const objectSplit = new Map<string, string>();
  for (const image of manifest.images) {
    const seen = objectSplit.get(image.object.id);
    assert.ok(!seen || seen === image.split, `object ${image.object.id} is in both splits`);
    objectSplit.set(image.object.id, image.split);
    if (image.kind !== 'generated') continue;
    const annotation = annotations.get(image.file)!;
    assert.ok(annotation, `no COCO annotation for ${image.file}`);
    assert.deepEqual(annotation.bbox, image.bbox);
    assert.equal(annotation.area, image.area);
  }
  // Every MVTec mask's pixels: its box and area are those of some COCO annotation of the same image.
  const masks = [...files.keys()].filter((n) => n.endsWith('_mask.png'));
  for (const name of masks) {
    const mask = await decodeMask(files.get(name)!);
    const box = maskBox(mask);
    const area = maskArea(mask);
    assert.ok([...annotations.values()].some((a) => a.area === area && JSON.stringify(a.bbox) === JSON.stringify(box)), `${name}: no annotation with its box and area`);
  }
  return { manifest, annotations, yolo };
}
