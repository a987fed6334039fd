import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { colmapEngine, createColmapEngine } from '../../src/engines/colmap/index.ts';
import { type ColmapSettings, colmapSettings } from '../../src/engines/colmap/settings.ts';
import { EngineError } from '../../src/engines/engine.ts';
import { readNpz } from '../../src/formats/npz.ts';
import { readPlyHeader } from '../../src/formats/ply.ts';
import { createFakeContext, type FakeRun } from '../fixtures/synthetic/fake-context.ts';
import { comparePoses, poseFromExtrinsic } from '../fixtures/synthetic/pose-error.ts';
import { renderSyntheticScene, type SyntheticScene } from '../fixtures/synthetic-scene.ts';

const run = promisify(execFile);
const NOT_INSTALLED = 'COLMAP is not installed — install it with apt-get install colmap';

/** Live processes whose command line mentions `marker` (here: a run's workDir). */
async function processesMentioning(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (cmdline.includes(marker) && !/\) Z /.test(stat)) pids.push(Number(entry));
  }
  return pids;
}

describe('colmap engine', () => {
  let root: string;
  let scene: SyntheticScene;
  const runs: FakeRun<ColmapSettings>[] = [];
  const settings = (extra: Partial<ColmapSettings> = {}): ColmapSettings => colmapSettings.parse({ maxImageSize: 640, ...extra });
  const fakeRun = async (inputs: string[], s: ColmapSettings) => {
    const r = await createFakeContext(inputs, s);
    runs.push(r);
    return r;
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'recon-colmap-test-'));
    scene = await renderSyntheticScene(join(root, 'scene'), { views: 8, width: 640, height: 480, seed: 7 });
  });
  after(async () => {
    await Promise.all([root, ...runs.map((r) => r.root)].map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('reports that colmap is runnable', async () => {
    assert.deepEqual(await colmapEngine.check(), { ok: true });
  });

  it('reconstructs the synthetic scene: every camera registered and in place', async () => {
    const r = await fakeRun(scene.images, settings());
    await colmapEngine.run(r.ctx);
    assert.deepEqual([...r.artifacts.keys()].sort(), ['colmap', 'glb', 'ply', 'predictions']);

    const npz = await readNpz(r.artifacts.get('predictions')!);
    const extrinsic = npz.get('extrinsic');
    const intrinsic = npz.get('intrinsic');
    const names = npz.get('image_names');
    const points = npz.get('points');
    await npz.close();
    assert.deepEqual([extrinsic.dtype, extrinsic.shape], ['<f4', [8, 3, 4]]);
    assert.deepEqual([intrinsic.dtype, intrinsic.shape], ['<f4', [8, 3, 3]]);
    assert.deepEqual(names.data, scene.cameras.map((c) => c.name));
    const pointCount = points.shape[0]!;
    assert.ok(pointCount > 1000, `${pointCount} points`);

    // Intrinsics in the full image's pixels; SIMPLE_RADIAL keeps the principal point at the centre.
    const k = intrinsic.data as Float32Array;
    for (let i = 0; i < 8; i++) {
      const [fx, , cx, , fy, cy] = k.subarray(i * 9, i * 9 + 9);
      assert.ok(Math.abs(fx! / 576 - 1) < 0.01, `fx ${fx}`);
      assert.equal(fx, fy);
      assert.deepEqual([cx, cy], [320, 240]);
    }

    const estimated = [...Array(8).keys()].map((i) => poseFromExtrinsic((extrinsic.data as Float32Array).subarray(i * 12, i * 12 + 12)));
    const errors = comparePoses(
      estimated,
      scene.cameras.map((c) => poseFromExtrinsic(c.extrinsic)),
    );
    errors.centerErrors.forEach((error, i) => {
      assert.ok(error < 0.01 * errors.spread, `camera ${i}: centre off by ${error.toFixed(4)} (spread ${errors.spread.toFixed(2)})`);
    });
    errors.rotationErrors.forEach((angle, i) => {
      assert.ok(angle < 1, `camera ${i}: rotation off by ${angle.toFixed(3)}°`);
    });

    const stages = [...new Set(r.progress.map((p) => p.stage))];
    assert.deepEqual(stages, ['extracting', 'matching', 'mapping', 'exporting']);
    for (const stage of stages) {
      const fractions = r.progress.filter((p) => p.stage === stage).map((p) => p.fraction);
      assert.deepEqual(
        fractions,
        [...fractions].sort((a, b) => a - b),
        `${stage} progress only goes forward`,
      );
      assert.equal(fractions.at(-1), 1, `${stage} completes`);
    }
    assert.ok(r.progress.some((p) => p.stage === 'mapping' && p.message === 'Registered 8 of 8 images'));
    assert.ok(r.logs.some((l) => l.startsWith('Processed file [8/8]')));

    const ply = await readPlyHeader(r.artifacts.get('ply')!);
    assert.equal(ply.vertexCount, pointCount);
    assert.ok(ply.properties.some((p) => p.name === 'error' && p.type === 'float'));
    const glb = await readFile(r.artifacts.get('glb')!);
    assert.equal(glb.subarray(0, 4).toString('latin1'), 'glTF');

    // numpy reads the predictions without pickle, and COLMAP itself reads the exported model.
    const check = `
import json, sys, zipfile, numpy as np
p = np.load(sys.argv[1], allow_pickle=False)
print(json.dumps({k: [p[k].dtype.str, list(p[k].shape)] for k in p.files} | {'names': p['image_names'].tolist()}))
zipfile.ZipFile(sys.argv[2]).extractall(sys.argv[3])
print(json.dumps(sorted(zipfile.ZipFile(sys.argv[2]).namelist())))`;
    const unpacked = join(r.root, 'unpacked');
    const { stdout } = await run('python3', ['-c', check, r.artifacts.get('predictions')!, r.artifacts.get('colmap')!, unpacked]);
    const [arrays, zipNames] = stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(arrays, {
      extrinsic: ['<f4', [8, 3, 4]],
      intrinsic: ['<f4', [8, 3, 3]],
      image_names: ['<U11', [8]],
      points: ['<f4', [pointCount, 3]],
      points_rgb: ['|u1', [pointCount, 3]],
      points_error: ['<f4', [pointCount]],
      names: scene.cameras.map((c) => c.name),
    });
    assert.deepEqual(
      zipNames,
      ['cameras', 'images', 'points3D'].flatMap((f) => [`sparse/0/${f}.bin`, `sparse/0/${f}.txt`]).sort(),
    );
    const analyzed = await run('colmap', ['model_analyzer', '--path', join(unpacked, 'sparse', '0')]);
    assert.match(analyzed.stdout + analyzed.stderr, /Registered images: 8/);
  });

  it('cancelling mid-run kills the COLMAP process group and rejects with the reason', async () => {
    const r = await fakeRun(scene.images, settings());
    const reason = new Error('cancelled by the test');
    const running = colmapEngine.run(r.ctx);
    const rejected = assert.rejects(running, (error) => error === reason);
    while (!r.logs.some((l) => l.startsWith('Processed file'))) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok((await processesMentioning(r.ctx.workDir)).length > 0, 'COLMAP is running');
    r.controller.abort(reason);
    await rejected;
    assert.deepEqual(await processesMentioning(r.ctx.workDir), []);
  });

  it('says how to install COLMAP when the binary is missing', async () => {
    const empty = await mkdtemp(join(root, 'empty-'));
    const r = await fakeRun(scene.images, settings());
    await assert.rejects(createColmapEngine({ binary: join(empty, 'colmap') }).run(r.ctx), (error) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.message, NOT_INSTALLED);
      assert.equal(error.transient, false);
      return true;
    });

    const saved = { path: process.env.PATH, bin: process.env.COLMAP_BIN };
    try {
      delete process.env.COLMAP_BIN;
      process.env.PATH = empty;
      await assert.rejects(colmapEngine.run(r.ctx), { name: 'EngineError', message: NOT_INSTALLED });
      process.env.COLMAP_BIN = join(empty, 'colmap');
      assert.deepEqual(await colmapEngine.check(), { ok: false, reason: NOT_INSTALLED });
    } finally {
      process.env.PATH = saved.path;
      if (saved.bin === undefined) delete process.env.COLMAP_BIN;
      else process.env.COLMAP_BIN = saved.bin;
    }
  });

  it('names an image COLMAP cannot read', async () => {
    const dir = join(root, 'broken');
    await mkdir(dir);
    for (const image of scene.images.slice(0, 3)) await copyFile(image, join(dir, basename(image)));
    await writeFile(join(dir, 'view_01b.jpg'), Buffer.from('this is not a JPEG at all, just some garbage bytes'.repeat(20)));
    const inputs = (await readdir(dir)).sort().map((name) => join(dir, name));
    const r = await fakeRun(inputs, settings());
    await assert.rejects(colmapEngine.run(r.ctx), (error) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.transient, false);
      assert.equal(error.message, 'COLMAP could not use 1 of 4 images: view_01b.jpg (Failed to read image file format)');
      assert.match(error.hint ?? '', /re-export it as JPEG or PNG/);
      return true;
    });
  });

  it('explains when the photos do not overlap enough to build a model', async () => {
    const other = await renderSyntheticScene(join(root, 'other'), { views: 2, width: 640, height: 480, seed: 99 });
    const r = await fakeRun([scene.images[0]!, other.images[1]!], settings());
    await assert.rejects(colmapEngine.run(r.ctx), (error) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.transient, false);
      assert.equal(error.message, 'COLMAP built no model: none of the 2 images could be registered — the photos need more overlap');
      assert.match(error.hint ?? '', /overlap by 60–80%/);
      return true;
    });
    // The two photos live in different folders: COLMAP names them from their common parent.
    assert.equal(await readFile(join(r.ctx.workDir, 'image-list.txt'), 'utf8'), 'scene/view_00.jpg\nother/view_01.jpg\n');
  });

  it('stops at timeoutSeconds and says how to raise it', async () => {
    const fake = join(root, 'slow-colmap');
    await writeFile(fake, '#!/bin/sh\nexec sleep 60\n');
    await chmod(fake, 0o755);
    const r = await fakeRun(scene.images, settings({ timeoutSeconds: 1 }));
    const started = performance.now();
    await assert.rejects(createColmapEngine({ binary: fake, killGraceMs: 500 }).run(r.ctx), (error) => {
      assert.ok(error instanceof EngineError);
      assert.match(error.message, /did not finish within 1 s, the run's timeoutSeconds setting/);
      assert.match(error.hint ?? '', /Raise the timeoutSeconds setting/);
      return true;
    });
    assert.ok(performance.now() - started < 4000);
  });
});
