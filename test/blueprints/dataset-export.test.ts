import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { type ExportInput, type ExportOptions, writeDatasetZip } from '../../src/blueprints/dataset-export.ts';
import { validationObjects } from '../../src/blueprints/dataset-split.ts';
import { boxMask, encodeMask } from '../../src/formats/mask.ts';
import { checkDataset, readZip } from '../helpers/dataset-checks.ts';
import { tempPaths } from '../helpers/temp-paths.ts';
import { productPhoto } from '../fixtures/products.ts';

const temp = tempPaths('recon-export-');

async function fixture() {
  const blobs = new Map<string, Buffer>();
  const shapes = ['disc', 'panel', 'bottle'] as const;
  const objects = await Promise.all(
    shapes.map(async (shape, position) => {
      blobs.set(`objects/${shape}.png`, await productPhoto(shape, 64));
      return { id: `obj_${shape}`, name: `${shape} photo`, sha256: `hash-${shape}`, position, blobKey: `objects/${shape}.png` };
    }),
  );
  const defects = [
    { id: 'def_a', name: 'scratch', categoryId: 1 },
    { id: 'def_b', name: 'dent', categoryId: 3 },
  ];
  const prompts = [
    { id: 'p1', parentId: null, text: 'a scratch', strategy: 'seed' as const },
    { id: 'p2', parentId: 'p1', text: 'a thin scratch', strategy: 'manual_edit' as const },
    { id: 'p3', parentId: null, text: 'a dent', strategy: 'seed' as const },
  ];
  const generations: ExportInput['generations'] = [];
  let n = 0;
  for (const object of objects)
    for (const defect of defects) {
      n++;
      const box: [number, number, number, number] = [10 + n, 12 + n, 6 + n, 5];
      blobs.set(`gen/${n}/image.png`, await productPhoto('disc', 64));
      blobs.set(`gen/${n}/mask.png`, await encodeMask(boxMask(64, 64, box)));
      generations.push({
        id: `gen_${String(n).padStart(2, '0')}`,
        objectId: object.id,
        defectId: defect.id,
        promptId: defect.id === 'def_a' ? 'p2' : 'p3',
        model: 'fal-ai/flux-pro/v1/fill',
        seed: 1000 + n,
        requestId: `req-${n}`,
        rating: n === 2 ? 'rejected' : n === 4 ? null : 'approved',
        feedback: n === 2 ? 'too big' : null,
        imageKey: `gen/${n}/image.png`,
        maskKey: `gen/${n}/mask.png`,
      });
    }
  const input: ExportInput = { blueprint: { id: 'bp_1', name: 'Test', productType: 'part', createdAt: '2026-01-02T03:04:05.000Z' }, objects, defects, prompts, generations };
  const read = async (key: string) => blobs.get(key)!;
  return { input, read };
}

const options: ExportOptions = { include: 'approved', valFraction: 0.34, splitSeed: 42, segmentation: 'polygon', negatives: true };

describe('dataset export', () => {
  test('the same input makes the same bytes; the dataset passes COCO, YOLO and MVTec checks', async () => {
    const { input, read } = await fixture();
    const first = temp('a.zip');
    const second = temp('b.zip');
    const summary = await writeDatasetZip(input, options, read, first);
    await writeDatasetZip(input, options, read, second);
    assert.deepEqual(await readFile(first), await readFile(second));
    assert.equal(summary.generations, 4, 'approved only: the rejected and the unrated are left out');
    assert.equal(summary.negatives, 3);
    assert.equal(summary.images.train + summary.images.val, 7);

    const files = await readZip(first);
    const { manifest } = await checkDataset(files);
    assert.deepEqual(manifest.categories.map((c: any) => [c.id, c.yoloClass, c.name]), [[1, 0, 'scratch'], [3, 1, 'dent']]);
    const scratch = manifest.images.find((i: any) => i.defect?.name === 'scratch');
    assert.deepEqual(scratch.promptChain.map((p: any) => p.strategy), ['seed', 'manual_edit']);
    assert.equal(scratch.seed, 1001);
    assert.deepEqual(scratch.bbox, [11, 13, 7, 5]);
    assert.ok(files.has('mvtec/o1-disc-photo/train/good/000.png'));
    assert.ok(files.has('data.yaml'));
    // One object of three went to validation, with all its images.
    assert.equal(manifest.split.valObjects.length, 1);

    const all = temp('all.zip');
    const everything = await writeDatasetZip(input, { ...options, include: 'approved_and_unrated', segmentation: 'rle', negatives: false }, read, all);
    assert.equal(everything.generations, 5);
    const rleFiles = await readZip(all);
    await checkDataset(rleFiles);
    const coco = JSON.parse(Buffer.from(rleFiles.get('annotations/instances_train.json')!).toString());
    assert.ok(coco.annotations.every((a: any) => a.iscrowd === 1 && Array.isArray(a.segmentation.counts)));
  });

  test('the split is seeded, grouped by object, never empties training', () => {
    const objects = Array.from({ length: 10 }, (_, i) => ({ id: `o${i}`, sha256: `h${i}` }));
    const a = validationObjects(objects, 1, 0.2);
    assert.equal(a.size, 2);
    assert.deepEqual([...validationObjects(objects, 1, 0.2)], [...a]);
    assert.notDeepEqual([...validationObjects(objects, 2, 0.2)], [...a]);
    assert.equal(validationObjects(objects.slice(0, 1), 1, 0.5).size, 0);
    assert.equal(validationObjects(objects.slice(0, 2), 1, 0.9).size, 1);
  });
});
