import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { readSplatPly, splatPlyProperties } from '../../src/formats/splat-ply.ts';
import { renderSyntheticScene } from '../fixtures/synthetic-scene.ts';
import { multipart } from '../helpers/images.ts';
import { jsonBody, startTestServer, type TestServer } from '../helpers/recon.ts';
import { waitForStatus } from '../helpers/runs.ts';
import { QUICK_SPLAT_SETTINGS as SETTINGS } from '../helpers/splat-runs.ts';

describe('the splat pipeline on a synthetic scene', () => {
  let server: TestServer;
  let dir: string;
  let images: string[];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'recon-splat-'));
    images = (await renderSyntheticScene(join(dir, 'images'), { views: 8, width: 320, height: 240 })).images;
    server = await startTestServer('pglite');
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The last two views as a 1 s video (as a phone walk-around would give them). */
  async function videoOf(paths: string[]): Promise<Buffer> {
    const list = join(dir, 'frames.txt');
    await writeFile(list, paths.map((p) => `file '${p}'\nduration 0.5\n`).join('') + `file '${paths.at(-1)}'\n`);
    const out = join(dir, 'walk.mp4');
    await promisify(execFile)('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-vf', 'fps=8', '-c:v', 'libx264', '-crf', '12', '-pix_fmt', 'yuv420p', out]);
    return readFile(out);
  }

  test('photos and a video → COLMAP → undistorted scene → trained splats → SOG/SPZ/compressed PLY/viewer → held-out metrics', async () => {
    const created = await server.json('/api/runs', jsonBody({ engine: 'splat', settings: SETTINGS }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(
      created.body.stages.map((s: { name: string; engine: string }) => `${s.name}:${s.engine}`),
      ['sfm:colmap', 'scene:splat-scene', 'train:splat-train', 'compress:splat-compress', 'evaluate:splat-evaluate'],
    );
    assert.equal(created.body.stages[4].settings.width, 96, 'evaluation scores at the training width');
    const runId = created.body.runId;
    const files: { name: string; data: Uint8Array }[] = await Promise.all(images.slice(0, 6).map(async (path) => ({ name: basename(path), data: await readFile(path) })));
    files.push({ name: 'walk.mp4', data: await videoOf(images.slice(6)) });
    assert.equal((await server.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart(files) })).status, 200);
    assert.equal((await server.json(`/api/runs/${runId}/process`, { method: 'POST' })).status, 202);
    const run = await waitForStatus(server, runId, ['completed', 'failed', 'canceled'], 600_000);
    assert.equal(run.status, 'completed', `${run.error} ${run.errorHint ?? ''}`);
    for (const stage of run.stages) assert.equal(stage.status, 'completed', stage.name);
    for (const kind of ['splat-scene', 'splat-ply', 'splat-preview', 'sog', 'spz', 'splat-compressed-ply', 'splat-viewer', 'metrics', 'predictions', 'colmap']) {
      assert.ok(run.artifacts[kind], `artifact ${kind}`);
    }

    const train = run.stages[2];
    assert.equal(train.summary.iterations, 150);
    // Views are named as COLMAP saw them, relative to the inputs' common folder: photos and video frames.
    assert.deepEqual(train.summary.heldOutViews, ['frames/walk-mp4-f0001.jpg'], 'index 0 of the 8 sorted views is held out');
    assert.equal(train.details.iteration, 150);
    assert.ok(train.details.gaussians > 0 && Number.isFinite(train.details.loss));

    // The standard 3DGS PLY, in the cameras' world frame (the sparse points' frame).
    const ply = join(dir, 'splat.ply');
    await writeFile(ply, Buffer.from(await (await server.fetch(run.artifacts['splat-ply'])).arrayBuffer()));
    const header = (await readFile(ply)).subarray(0, 4000).toString('latin1');
    const properties = [...header.matchAll(/property float (\S+)/g)].map((m) => m[1]);
    assert.deepEqual(properties, splatPlyProperties(3));
    const splats = await readSplatPly(ply);
    assert.equal(splats.count, train.summary.gaussians);
    const cameras = (await server.json(`/api/runs/${runId}/cameras`)).body.cameras as { position: number[] }[];
    const centre = [0, 1, 2].map((axis) => median(Array.from({ length: splats.count }, (_, i) => splats.means[3 * i + axis]!)));
    const cameraCentre = [0, 1, 2].map((axis) => cameras.reduce((s, c) => s + c.position[axis]!, 0) / cameras.length);
    const spread = Math.max(...cameras.map((c) => Math.hypot(...c.position.map((v, axis) => v - cameraCentre[axis]!))));
    assert.ok(Math.hypot(...centre.map((v, axis) => v - cameraCentre[axis]!)) < 3 * spread, 'the splats sit among the cameras');

    const sog = Buffer.from(await (await server.fetch(run.artifacts.sog)).arrayBuffer());
    assert.equal(sog.subarray(0, 2).toString('latin1'), 'PK', 'a bundled SOG is a ZIP');
    const spz = Buffer.from(await (await server.fetch(run.artifacts.spz)).arrayBuffer());
    assert.deepEqual([...spz.subarray(0, 2)], [0x1f, 0x8b], 'SPZ is gzip');
    const viewer = await (await server.fetch(run.artifacts['splat-viewer'])).text();
    assert.match(viewer, /<html/i);

    const metrics = (await (await server.fetch(run.artifacts.metrics)).json()) as any;
    assert.deepEqual(metrics.views.test, ['frames/walk-mp4-f0001.jpg']);
    assert.equal(metrics.views.train.length, 7);
    assert.ok(metrics.views.train.includes('frames/walk-mp4-f0002.jpg') && metrics.views.train.includes('images/view_05.jpg'), 'photos and frames both trained on');
    assert.ok(!metrics.views.train.includes('frames/walk-mp4-f0001.jpg'), 'the held-out view was never a training view');
    for (const kind of ['splat-ply', 'sog', 'spz', 'splat-compressed-ply']) {
      const score = metrics.formats[kind];
      assert.ok(score.test.psnr > 8 && score.train.psnr > 8, `${kind}: ${score.test.psnr} / ${score.train.psnr}`);
      assert.ok(score.test.ssim > 0 && score.test.ssim <= 1);
    }
    const evaluate = run.stages[4].summary;
    assert.equal(evaluate.formats['splat-ply'].testPsnr, Math.round(metrics.formats['splat-ply'].test.psnr * 1e4) / 1e4);
    assert.ok(Math.abs(evaluate.formats.spz.testPsnr - evaluate.formats['splat-compressed-ply'].testPsnr) < 0.5, 'SPZ and compressed PLY hold the same cleaned splats');
    assert.ok(Math.abs(evaluate.formats.spz.testPsnrChange) < 3, `SPZ keeps the quality: ${evaluate.formats.spz.testPsnrChange} dB`);
    assert.ok(run.stages[3].summary.bytes.sog < run.stages[3].summary.bytes.ply);
  });
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
