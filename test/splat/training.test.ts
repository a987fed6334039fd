import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { readSplatPly } from '../../src/formats/splat-ply.ts';
import { createRenderer, createTrainer, encodePng, evaluate, type GaussianCloud, restoreTrainer, type View } from '../../src/splat/index.ts';
import { lookAtCamera, randomCloud } from './fixtures.ts';

/** A synthetic scene: known Gaussians rendered from 8 cameras around it become the photos. */
const truth = randomCloud(250, 7, { extent: 1, shDegree: 1 });
const views: View[] = [];
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'splat-training-'));
  const renderer = createRenderer(truth, { threads: 2 });
  try {
    for (let k = 0; k < 8; k++) {
      const angle = (k / 8) * Math.PI * 2;
      const camera = lookAtCamera([4 * Math.sin(angle), -0.8 + 0.3 * (k % 3), 4 * Math.cos(angle)], 64, 48, 60);
      views.push({ name: `view-${k}`, camera, image: (await renderer.render(camera)).rgb });
    }
  } finally {
    await renderer.close();
  }
});
after(() => rm(dir, { recursive: true, force: true }));

/** Short runs that still grow, split, prune and raise the SH degree. */
const settings = (iterations: number, threads = 2) => ({
  preset: 'quick',
  shDegree: 1,
  iterations,
  refineStart: 20,
  refineStop: 250,
  refineEvery: 25,
  resetEvery: 100,
  maxGaussians: 1500,
  shDegreeInterval: 30,
  threads,
});
const start = () => randomCloud(250, 99, { extent: 1.2, shDegree: 1 });

function assertSameCloud(a: GaussianCloud, b: GaussianCloud): void {
  assert.equal(a.count, b.count);
  for (const key of ['means', 'logScales', 'quats', 'opacities', 'sh0', 'shN'] as const) {
    assert.deepEqual(Buffer.from(a[key].buffer, a[key].byteOffset, a[key].byteLength), Buffer.from(b[key].buffer, b[key].byteOffset, b[key].byteLength), `${key} differ`);
  }
}

test('training from a random start converges on a synthetic scene', async () => {
  const train = views.slice(1);
  const trainer = createTrainer({ views: train, gaussians: start(), settings: settings(300), seed: 3 });
  try {
    const before = await trainer.evaluate(train);
    const counts: number[] = [];
    await trainer.train({ progressEvery: 20, onProgress: (p) => void counts.push(p.gaussians) });
    const after = await trainer.evaluate(train);
    const heldOut = await trainer.evaluate(views.slice(0, 1));
    console.log(`training PSNR ${before.psnr.toFixed(1)} → ${after.psnr.toFixed(1)} dB, held-out ${heldOut.psnr.toFixed(1)} dB, Gaussians ${counts[0]} → ${trainer.gaussianCount}`);
    assert.ok(after.psnr > before.psnr + 10, `PSNR rose from ${before.psnr} to ${after.psnr}`);
    assert.ok(after.psnr > 25, `training PSNR ${after.psnr}`);
    assert.ok(after.ssim > before.ssim, 'SSIM rose');
    assert.ok(heldOut.psnr > before.psnr + 5, `held-out PSNR ${heldOut.psnr}`);
    assert.ok(Math.max(...counts) > 250, 'densification grew the Gaussians');
    assert.ok(Math.max(...counts) <= 1500, 'growth stopped at maxGaussians');
    assert.equal(trainer.shDegree, 1);
    // The exported PLY is the trained splat: read back and rendered, it scores the same.
    const ply = join(dir, 'trained.ply');
    await trainer.toPly(ply);
    const fromPly = await evaluate(await readSplatPly(ply), train, { threads: 2 });
    assert.equal(fromPly.psnr, after.psnr);
    assert.equal(fromPly.ssim, after.ssim);
  } finally {
    await trainer.close();
  }
});

test('a seeded run is reproducible with 2 threads, and a restored checkpoint continues it bit for bit', async () => {
  const run = () => createTrainer({ views: views.slice(1), gaussians: start(), settings: settings(90), seed: 11 });
  const first = run();
  const second = run();
  const checkpoint = join(dir, 'checkpoint.npz');
  try {
    // The checkpoint falls between refinements, mid-epoch, with densification statistics pending.
    const saved: number[] = [];
    await first.train({ checkpointEvery: 50, checkpointPath: checkpoint, onCheckpoint: (_, iteration) => void saved.push(iteration) });
    await second.train({ until: 50 });
    assert.deepEqual(saved, [50]);
    await second.close();
    const resumed = await restoreTrainer(checkpoint, views.slice(1));
    try {
      assert.equal(resumed.iteration, 50);
      await resumed.train();
      assert.equal(resumed.iteration, 90);
      assertSameCloud(resumed.gaussians(), first.gaussians());
    } finally {
      await resumed.close();
    }
    const again = run();
    try {
      await again.train();
      assertSameCloud(again.gaussians(), first.gaussians());
    } finally {
      await again.close();
    }
  } finally {
    await first.close();
    await second.close();
  }
});

test('a multi-threaded render equals the single-threaded one', async () => {
  const cloud = randomCloud(400, 5, { extent: 1, shDegree: 3 });
  const camera = lookAtCamera([0.5, -1, 3.5], 70, 50, 60);
  const single = createRenderer(cloud, { threads: 1, inline: true });
  const pooled = createRenderer(cloud, { threads: 2 });
  try {
    const a = await single.render(camera);
    const b = await pooled.render(camera);
    assert.ok(a.rgb.some((v) => v > 0.05), 'something was drawn');
    assert.deepEqual(Buffer.from(b.rgb.buffer), Buffer.from(a.rgb.buffer));
    const png = await sharp(await encodePng(a)).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([png.info.width, png.info.height, png.info.channels], [70, 50, 3]);
    assert.equal(png.data[(20 * 70 + 30) * 3], Math.round(Math.min(1, Math.max(0, a.rgb[(20 * 70 + 30) * 3]!)) * 255));
  } finally {
    await single.close();
    await pooled.close();
  }
});
