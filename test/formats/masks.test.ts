import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { cocoAnnotation } from '../../src/formats/coco.ts';
import { polygonArea, traceContours } from '../../src/formats/contours.ts';
import { type BinaryMask, boxMask, connectedComponents, decodeMask, ellipseMask, emptyMask, encodeMask, maskArea, maskBox } from '../../src/formats/mask.ts';
import { mvtecPaths, pathSlug } from '../../src/formats/mvtec.ts';
import { decodeRle, encodeRle } from '../../src/formats/rle.ts';
import { yoloDataYaml, yoloRow } from '../../src/formats/yolo.ts';
import { seededRandom } from '../fixtures/fal-server/faults.ts';
import { checkCocoRules, rasterizeCocoPolygons } from '../helpers/coco-rules.ts';
import { checkYoloRules } from '../helpers/yolo-rules.ts';

/** Random blobs: unions of ellipses and boxes, some touching only at corners, some with holes. */
function randomMask(seed: number, width = 48, height = 40): BinaryMask {
  const random = seededRandom(seed);
  const mask = emptyMask(width, height);
  const shapes = 1 + Math.floor(random() * 4);
  for (let s = 0; s < shapes; s++) {
    const w = 1 + Math.floor(random() * 16);
    const h = 1 + Math.floor(random() * 14);
    const box: [number, number, number, number] = [Math.floor(random() * (width - w)), Math.floor(random() * (height - h)), w, h];
    const shape = random() < 0.5 ? ellipseMask(width, height, box) : boxMask(width, height, box);
    for (let i = 0; i < mask.data.length; i++) mask.data[i]! |= shape.data[i]!;
  }
  if (random() < 0.3) for (let i = 0; i < mask.data.length; i++) if (random() < 0.02) mask.data[i] = 1;
  return mask;
}

function holes(mask: BinaryMask): boolean {
  const inverse: BinaryMask = { ...mask, data: mask.data.map((v) => 1 - v) };
  const { labels, count } = connectedComponents(inverse);
  const touching = new Set<number>();
  for (let x = 0; x < mask.width; x++) touching.add(labels[x]!).add(labels[(mask.height - 1) * mask.width + x]!);
  for (let y = 0; y < mask.height; y++) touching.add(labels[y * mask.width]!).add(labels[y * mask.width + mask.width - 1]!);
  touching.delete(0);
  return touching.size < count;
}

describe('masks', () => {
  test('PNG round trip; a transparent drawing is its alpha, an opaque one its brightness', async () => {
    const mask = randomMask(7);
    const png = await encodeMask(mask);
    assert.deepEqual((await decodeMask(png)).data, mask.data);
    const rgba = Buffer.alloc(4 * 4 * 4);
    rgba[(1 * 4 + 2) * 4 + 3] = 255; // pixel (2,1) opaque, colour black
    const drawn = await decodeMask(await sharp(rgba, { raw: { width: 4, height: 4, channels: 4 } }).png().toBuffer());
    assert.deepEqual([...drawn.data].map((v, i) => (v ? i : -1)).filter((i) => i >= 0), [6]);
    assert.deepEqual(maskBox(drawn), [2, 1, 1, 1]);
  });

  test('RLE is column-major, starts with zeros and round-trips', () => {
    // h=3, w=2: column 0 is 0,1,0 and column 1 is 1,1,0.
    const mask: BinaryMask = { width: 2, height: 3, data: Uint8Array.from([0, 1, 1, 1, 0, 0]) };
    assert.deepEqual(encodeRle(mask), { size: [3, 2], counts: [1, 1, 1, 2, 1] });
    const first: BinaryMask = { width: 2, height: 1, data: Uint8Array.from([1, 0]) };
    assert.deepEqual(encodeRle(first).counts, [0, 1, 1]);
    for (let seed = 0; seed < 20; seed++) {
      const random = randomMask(seed);
      assert.deepEqual(decodeRle(encodeRle(random)).data, random.data);
    }
  });

  test('contours: pixel-corner polygons that pycocotools rasterises back to the exact mask', () => {
    let checked = 0;
    for (let seed = 0; seed < 60; seed++) {
      const mask = randomMask(seed);
      const polygons = traceContours(mask);
      assert.equal(polygons.length, connectedComponents(mask).count);
      const raster = rasterizeCocoPolygons(polygons, mask.width, mask.height);
      if (holes(mask)) {
        // Holes are filled: the polygons cover the mask and more.
        assert.ok(mask.data.every((v, i) => !v || raster.data[i]), `seed ${seed}: a mask pixel was lost`);
        continue;
      }
      checked++;
      assert.deepEqual(raster.data, mask.data, `seed ${seed}: rasterised polygons differ from the mask`);
      assert.equal(polygons.reduce((sum, p) => sum + polygonArea(p), 0), maskArea(mask), `seed ${seed}: shoelace area`);
    }
    assert.ok(checked > 30, `only ${checked} hole-free masks`);
    // One pixel: its four corners, clockwise on screen.
    const pixel = boxMask(6, 6, [3, 4, 1, 1]);
    assert.deepEqual(traceContours(pixel), [[4, 4, 4, 5, 3, 5, 3, 4]]);
    // Two pixels touching at a corner are two instances (4-connectivity).
    const diagonal = emptyMask(4, 4);
    diagonal.data[0] = diagonal.data[5] = 1;
    assert.equal(traceContours(diagonal).length, 2);
  });

  test('COCO annotations from masks pass the pycocotools rules; YOLO rows agree with their boxes to 1e-6', async () => {
    const images = [];
    const annotations = [];
    const files = new Map<string, Uint8Array>();
    const names = ['scratch', 'dent'];
    for (let i = 0; i < 12; i++) {
      const mask = randomMask(100 + i, 40, 30);
      images.push({ id: i + 1, width: 40, height: 30, file_name: `${i}.png` });
      const ann = cocoAnnotation(mask, { id: i + 1, imageId: i + 1, categoryId: (i % 2) + 1 }, i % 3 === 0 ? 'rle' : 'polygon')!;
      assert.equal(ann.area, maskArea(mask));
      assert.deepEqual(ann.bbox, maskBox(mask));
      annotations.push(ann);
      const row = yoloRow(i % 2, ann.bbox, 40, 30);
      const [, cx, cy, w, h] = row.split(' ').map(Number);
      const [x, y, bw, bh] = ann.bbox;
      assert.ok(Math.abs(cx! - (x + bw / 2) / 40) <= 1e-6 && Math.abs(cy! - (y + bh / 2) / 30) <= 1e-6);
      assert.ok(Math.abs(w! - bw / 40) <= 1e-6 && Math.abs(h! - bh / 30) <= 1e-6);
      files.set(`images/train/${i}.png`, await encodeMask(mask));
      files.set(`labels/train/${i}.txt`, Buffer.from(`${row}\n`));
    }
    assert.equal(cocoAnnotation(emptyMask(4, 4), { id: 1, imageId: 1, categoryId: 1 }), undefined);
    const categories = names.map((name, i) => ({ id: i + 1, name, supercategory: 'defect' }));
    assert.deepEqual(checkCocoRules({ info: {}, licenses: [], images, annotations, categories }), []);
    // The rules do catch what pycocotools would choke on.
    const broken = structuredClone(annotations);
    (broken[1]!.segmentation as number[][])[0] = [1, 2, 3, 4];
    broken[2]!.bbox = [30, 20, 20, 20];
    broken[3]!.image_id = 99;
    (broken[0]!.segmentation as { counts: number[] }).counts.push(5);
    const errors = checkCocoRules({ images, annotations: broken, categories });
    assert.equal(errors.length, 4, errors.join('\n'));

    files.set('data.yaml', Buffer.from(yoloDataYaml({ path: '.', train: 'images/train', val: 'images/val', names })));
    const yolo = await checkYoloRules(files);
    assert.deepEqual(yolo.errors, []);
    assert.deepEqual(yolo.names, names);
    assert.equal(yolo.labels.size, 12);
    files.set('labels/train/0.txt', Buffer.from('2 0.5 0.5 1.2 0.1\n0 0.5 0.5 0.1\n'));
    const bad = await checkYoloRules(files);
    assert.equal(bad.errors.length, 3, bad.errors.join('\n'));
  });

  test('MVTec paths and slugs', () => {
    assert.equal(mvtecPaths.good('disc', 3), 'disc/train/good/003.png');
    assert.equal(mvtecPaths.defect('disc', 'scratch', 12), 'disc/test/scratch/012.png');
    assert.equal(mvtecPaths.mask('disc', 'scratch', 12), 'disc/ground_truth/scratch/012_mask.png');
    assert.equal(pathSlug('Rust / Corrosion (heavy)', 'x'), 'rust-corrosion-heavy');
    assert.equal(pathSlug('../..', 'defect-3'), 'defect-3');
    assert.equal(pathSlug('Éclat', 'x'), 'eclat');
  });
});
