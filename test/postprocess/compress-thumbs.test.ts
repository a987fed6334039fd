import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Primitive } from '@gltf-transform/core';
import pino from 'pino';
import sharp from 'sharp';
import { LocalBlobStore } from '../../src/blobs/local-blob-store.ts';
import type { EngineContext } from '../../src/engines/engine.ts';
import { buildSceneGlb } from '../../src/formats/glb-scene.ts';
import { compressGlb, meshoptIO } from '../../src/postprocess/compress-glb.ts';
import { PostProcessor } from '../../src/postprocess/post-processor.ts';
import { writeThumbnail } from '../../src/postprocess/thumbnails.ts';

const validator = createRequire(import.meta.url)('gltf-validator') as {
  validateBytes(data: Uint8Array): Promise<{ issues: { numErrors: number; messages: unknown[] } }>;
};
const RUN = 'run_1732170000000_abcdef12';
const OPTIONS = { confThreshold: 0, maskBlackBg: false, maskWhiteBg: false, showCameras: true };

async function sceneOf(count: number) {
  const positions = new Float32Array(count * 3);
  const colors = new Uint8Array(count * 3);
  for (let i = 0; i < count; i++) {
    positions.set([Math.sin(i * 0.37) * 3, Math.cos(i * 0.11) * 2, 5 + Math.sin(i * 0.05)], i * 3);
    colors.set([i % 256, (i * 7) % 256, (i * 13) % 256], i * 3);
  }
  const cameras = [0, 1, 2].map((c) => ({ extrinsic: [1, 0, 0, c * 0.1, 0, 1, 0, 0, 0, 0, 1, 0] }));
  return (await buildSceneGlb({ positions, colors }, cameras, OPTIONS)).glb;
}

test('meshopt + quantization shrinks a point cloud GLB that stays valid and holds the same points', async () => {
  const glb = await sceneOf(50_000);
  const compressed = await compressGlb(glb);
  assert.ok(compressed.length < glb.length * 0.6, `${compressed.length} vs ${glb.length} bytes`);
  const report = await validator.validateBytes(compressed);
  assert.equal(report.issues.numErrors, 0, JSON.stringify(report.issues.messages));
  const doc = await (await meshoptIO()).readBinary(compressed);
  const used = doc.getRoot().listExtensionsUsed().map((e) => e.extensionName);
  assert.ok(used.includes('EXT_meshopt_compression'));
  assert.ok(used.includes('KHR_mesh_quantization'));
  const points = doc
    .getRoot()
    .listMeshes()
    .flatMap((m) => m.listPrimitives())
    .filter((p) => p.getMode() === Primitive.Mode.POINTS);
  assert.equal(points[0]?.getAttribute('POSITION')?.getCount(), 50_000);
});

test('thumbnails are JPEGs at most 256 px on the longer side', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recon-thumb-'));
  try {
    const input = join(dir, 'wide.png');
    await sharp({ create: { width: 1000, height: 600, channels: 3, background: { r: 200, g: 80, b: 40 } } }).png().toFile(input);
    await writeThumbnail(input, join(dir, 'thumb.jpg'));
    const meta = await sharp(join(dir, 'thumb.jpg')).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.width, 256);
    assert.equal(meta.height, 154);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a broken scene.glb makes the preview unavailable with the reason; post-processing never throws', async () => {
  const root = await mkdtemp(join(tmpdir(), 'recon-pp-'));
  try {
    const blobs = new LocalBlobStore(join(root, 'runs'));
    const workDir = join(root, 'work');
    const broken = join(root, 'broken.glb');
    await writeFile(broken, 'glTF but not really');
    await blobs.putFile(RUN, 'scene.glb', broken);
    const image = join(root, 'a.jpg');
    await writeFile(image, await sharp({ create: { width: 300, height: 300, channels: 3, background: '#888' } }).jpeg().toBuffer());
    await writeFile(join(root, 'b.jpg'), 'not an image');
    const unavailable: Record<string, string> = {};
    const logged: string[] = [];
    const ctx = {
      runId: RUN,
      attempt: 1,
      inputs: [image, join(root, 'b.jpg')],
      settings: {},
      workDir,
      signal: new AbortController().signal,
      progress() {},
      log: (line: string) => logged.push(line),
      putArtifact: async () => assert.fail('nothing to store'),
      markUnavailable: async (kind: string, reason: string) => {
        unavailable[kind] = reason;
      },
    } as unknown as EngineContext<unknown>;
    const processor = new PostProcessor({
      blobs,
      execution: { recordGlbMetadata: async () => assert.fail('no metadata from a broken GLB') } as never,
      predictions: { cameras: async () => ({ cameras: [] }) } as never,
      options: { previewWidth: 64, compressGlbBytes: 0 },
    });
    await processor.inputs(ctx, pino({ level: 'silent' }));
    await processor.outputs(ctx, { runId: RUN, token: 't' }, pino({ level: 'silent' }));
    assert.match(unavailable.preview ?? '', /post-processing \(preview\) failed/);
    assert.match(unavailable['glb-compressed'] ?? '', /post-processing \(glb compression\) failed/);
    assert.ok(await blobs.stat(RUN, 'thumbs/a.jpg.jpg'), 'the good image got its thumbnail');
    assert.match(logged.join('\n'), /no thumbnail for 1 image\(s\).*b\.jpg/);
    assert.ok((await readFile(join(root, 'runs', RUN, 'thumbs', 'a.jpg.jpg'))).length > 0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
