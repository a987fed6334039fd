// The correctness check of our PLY conventions: splats trained by Recon, written as a 3DGS PLY and
// rendered by Spark (the web app's viewer, in Chromium) from a training camera, match Recon's own
// renderer's image of that camera. Any convention off (quaternion order, SH layout, log scales,
// opacity logits, the camera frame) shows as a large difference.
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { readSplatPly } from '../../src/formats/splat-ply.ts';
import { type Camera, createRenderer, createTrainer, decode, psnr, resizeCamera, type View } from '../../src/splat/index.ts';
import { Rng } from '../../src/splat/rng.ts';
import { renderSyntheticScene } from '../fixtures/synthetic-scene.ts';
import { launchBrowser, SCREENSHOTS } from './browser.ts';

const WIDTH = 120;
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.ply': 'application/octet-stream', '.wasm': 'application/wasm' };

/** Serves `root` (the built test page and the PLY) on a free port. */
async function serve(root: string) {
  const server = createServer(async (request, response) => {
    const path = normalize(join(root, decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)));
    const file = path.endsWith('/') ? join(path, 'index.html') : path;
    if (!file.startsWith(root) || !(await stat(file).catch(() => undefined))?.isFile()) return response.writeHead(404).end();
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

const started = performance.now();
const lap = (what: string) => console.log(`${what}: ${((performance.now() - started) / 1000).toFixed(1)} s`);

test('a trained PLY rendered by Spark from a training camera matches our renderer (PSNR ≥ 30 dB)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recon-splat-match-'));
  const site = join(dir, 'site');
  const { build } = await import('vite');
  await build({ root: join(import.meta.dirname, 'splat-match'), configFile: false, logLevel: 'error', build: { outDir: site, emptyOutDir: true, target: 'es2022' } });

  lap('test page built');
  // Training views from the synthetic scene's exact cameras, seeded with random points in the room.
  const scene = await renderSyntheticScene(join(dir, 'images'), { views: 6, width: 320, height: 240 });
  const views: View[] = await Promise.all(
    scene.cameras.map(async (c, i) => {
      const e = c.extrinsic;
      const full: Camera = { width: 320, height: 240, fx: c.K[0]!, fy: c.K[4]!, cx: c.K[2]!, cy: c.K[5]!, rotation: [e[0]!, e[1]!, e[2]!, e[4]!, e[5]!, e[6]!, e[8]!, e[9]!, e[10]!], translation: [e[3]!, e[7]!, e[11]!] };
      const camera = resizeCamera(full, WIDTH);
      return { name: c.name, camera, image: await decode(scene.images[i]!, camera.width, camera.height) };
    }),
  );
  const rng = new Rng(7);
  const count = 2000;
  const positions = Float32Array.from({ length: count * 3 }, (_, i) => [-4 + 8 * rng.next(), -4.5 + 8.5 * rng.next(), 3.2 * rng.next()][i % 3]!);
  const trainer = createTrainer({ views, points: { positions, colors: new Uint8Array(count * 3).fill(150) }, settings: { preset: 'quick', width: WIDTH, iterations: 200, shDegreeInterval: 50, refineStart: 60, refineStop: 160, maxGaussians: 6000, initScale: 0.3 }, seed: 1 });
  const ply = join(site, 'splat.ply');
  try {
    // Long enough to reach SH degree 3, so the comparison covers every coefficient's layout.
    await trainer.train();
    await trainer.toPly(ply);
  } finally {
    await trainer.close();
  }

  lap(`trained (${trainer.gaussianCount} Gaussians, SH degree ${trainer.shDegree})`);
  const view = views[2]!;
  const { width, height } = view.camera;
  const ours = createRenderer(await readSplatPly(ply));
  const reference = await ours.render(view.camera).finally(() => ours.close());
  assert.ok(psnr(reference.rgb, view.image) > 15, 'the splats learned the view (else the comparison says little)');

  const site$ = await serve(site);
  const browser = await launchBrowser();
  try {
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${site$.url}/index.html`);
    await page.waitForFunction('typeof window.renderSplat === "function"');
    const k = [
      [view.camera.fx, 0, view.camera.cx],
      [0, view.camera.fy, view.camera.cy],
      [0, 0, 1],
    ];
    const r = view.camera.rotation;
    const t = view.camera.translation;
    const extrinsic = [0, 1, 2].map((row) => [r[3 * row]!, r[3 * row + 1]!, r[3 * row + 2]!, t[row]!]);
    const dataUrl = (await page.evaluate(`renderSplat('/splat.ply', ${JSON.stringify({ index: 2, extrinsic, intrinsic: k, position: [0, 0, 0], threeMatrix: [] })}, ${width}, ${height})`, undefined)) as string;
    assert.deepEqual(errors, []);
    lap('rendered by Spark');
    const png = Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [width, height]);
    const spark = Float32Array.from(data, (v) => v / 255);
    const clamped = Float32Array.from(reference.rgb, (v) => Math.min(1, Math.max(0, v)));
    const match = psnr(spark, clamped);
    const toPng = (rgb: Float32Array) => sharp(Buffer.from(rgb.map((v) => Math.round(v * 255))), { raw: { width, height, channels: 3 } }).png();
    await sharp(png).toFile(join(SCREENSHOTS, 'splat-match-spark.png'));
    await toPng(clamped).toFile(join(SCREENSHOTS, 'splat-match-recon.png'));
    await toPng(view.image).toFile(join(SCREENSHOTS, 'splat-match-photo.png'));
    console.log(`Spark vs Recon's renderer from training camera ${view.name}: PSNR ${match.toFixed(2)} dB (Recon vs photo ${psnr(clamped, view.image).toFixed(2)} dB)`);
    assert.ok(match >= 30, `Spark and Recon disagree: PSNR ${match.toFixed(2)} dB`);
  } finally {
    await browser.close();
    await site$.close();
    await rm(dir, { recursive: true, force: true });
  }
});
