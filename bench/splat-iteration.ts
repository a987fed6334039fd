/**
 * Seconds per 3DGS training iteration on the CPU: 50k Gaussians, one 400×300 view, SH degree 3,
 * every phase timed (forward: projection, binning/sort, rasterisation; loss + SSIM and its
 * backward; rasterisation backward, projection backward, Adam), with 1 and with 2 threads.
 * Goal (issue #11): ≤ 0.5 s per iteration on this machine's 2 cores.
 *
 * Reference, measured in the same run: the compositing arithmetic alone. We count the
 * (pixel, Gaussian) pairs the forward pass visits (each Gaussian of a tile's list times the
 * tile pixels inside its α ≥ 1/255 box) and time one tight loop doing exactly that many
 * (σ, exp, blend) evaluations over a Gaussian list that sits in L1 cache — no tiles, no
 * gathering, no sorting, no threads. `raster fwd / reference` is then the overhead of the real
 * forward pass over the bare per-pair work it cannot avoid (below 1 where the σ cut-off and
 * opaque pixels save an exp).
 *
 * Run: node_modules/.bin/node bench/splat-iteration.ts [--iterations 5] [--gaussians 50000]
 * (add --cpu-prof to node to profile; bench/lib/cpuprofile.ts summarises a profile)
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { InlineExecutor } from '../src/splat/executor.ts';
import { loadCloud } from '../src/splat/gaussian-cloud.ts';
import { renderPass, setCamera } from '../src/splat/render-pass.ts';
import { createRenderer } from '../src/splat/renderer.ts';
import { createTrainer } from '../src/splat/trainer.ts';
import { gatherTile, STRIDE } from '../src/splat/tile-gather.ts';
import { TILE, Workspace } from '../src/splat/workspace.ts';
import { lookAtCamera, randomCloud } from '../test/splat/fixtures.ts';
import { round, table } from './lib/report.ts';

const { values } = parseArgs({
  options: { iterations: { type: 'string', default: '5' }, gaussians: { type: 'string', default: '50000' }, inline: { type: 'boolean', default: false } },
});
const ITERATIONS = Number(values.iterations);
const GAUSSIANS = Number(values.gaussians);
const WIDTH = 400;
const HEIGHT = 300;
const GOAL_SECONDS = 0.5;

// A scene shaped like a trained one: small Gaussians (a few pixels) filling a box that covers
// the view, several layers deep. The target is the same scene with every Gaussian moved a little.
const camera = lookAtCamera([0, 0, -4], WIDTH, HEIGHT, 380);
const cloud = randomCloud(GAUSSIANS, 1, { extent: 1.6, logScale: Math.log(0.012) });
const moved = randomCloud(GAUSSIANS, 1, { extent: 1.6, logScale: Math.log(0.012) });
for (let i = 0; i < moved.means.length; i++) moved.means[i] = moved.means[i]! + 0.01 * Math.sin(i);
const targetRenderer = createRenderer(moved, { threads: 2 });
const target = await targetRenderer.render(camera);
await targetRenderer.close();
const views = [{ name: 'view', camera, image: target.rgb }];

const loadAtStart = loadavg().map((l) => l.toFixed(1)).join(' ');
const rows: (string | number)[][] = [];
const results: Record<string, number> = {};
for (const threads of values.inline ? [1] : [1, 2]) {
  const trainer = createTrainer({
    views,
    gaussians: cloud,
    seed: 1,
    // --inline runs the kernels on the main thread, where --cpu-prof sees them.
    inline: values.inline,
    // No densification and SH degree 3 from the start: every iteration does the same work.
    settings: { preset: 'standard', threads, shDegreeInterval: 1, refineStart: 1e9, refineStop: 1e9, iterations: 1e6 },
  });
  await trainer.step(); // warm-up (JIT, buffer growth)
  await trainer.step();
  await trainer.step();
  for (const key of Object.keys(trainer.timings) as (keyof typeof trainer.timings)[]) trainer.timings[key] = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let last = await trainer.step();
  for (let i = 1; i < ITERATIONS; i++) last = await trainer.step();
  const seconds = (performance.now() - start) / 1000 / ITERATIONS;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6 / ITERATIONS;
  const t = trainer.timings;
  const per = (ms: number) => round(ms / 1000 / ITERATIONS, 4);
  const forward = per(t.project + t.bin + t.rasterize);
  const backward = per(t.rasterizeBackward + t.projectBackward);
  rows.push([threads, per(t.project), per(t.bin), per(t.rasterize), forward, per(t.loss), per(t.rasterizeBackward), per(t.projectBackward), backward, per(t.adam), round(seconds, 3), round(cpuSeconds, 3)]);
  results[`threads${threads}`] = seconds;
  results[`cpu${threads}`] = cpuSeconds;
  results[`rasterForward${threads}`] = t.rasterize / 1000 / ITERATIONS;
  console.log(`threads ${threads}: loss ${last.loss.toFixed(4)}, ${last.gaussians} Gaussians`);
  await trainer.close();
}

const { pairs, isects } = await visitedPairs();
const reference = referenceSeconds(pairs);
console.log(`\n${GAUSSIANS} Gaussians, ${WIDTH}×${HEIGHT}, SH degree 3; ${isects} tile intersections, ${(pairs / (WIDTH * HEIGHT)).toFixed(1)} (pixel, Gaussian) pairs visited per pixel`);
console.log(
  table(['threads', 'project', 'bin+sort', 'raster fwd', 'FORWARD', 'loss+SSIM', 'raster bwd', 'project bwd', 'BACKWARD', 'adam', 'ITERATION s', 'CPU s'], rows),
);
const best = results.threads2 ?? results.threads1!;
const cpuBest = results.cpu2 ?? results.cpu1!;
console.log(`\nload average ${loadAtStart} at the start, ${loadavg().map((l) => l.toFixed(1)).join(' ')} now (${availableParallelism()} cores)`);
console.log(`goal ≤ ${GOAL_SECONDS} s/iteration: ${round(best, 3)} s wall with 2 threads → ${best <= GOAL_SECONDS ? 'met' : 'NOT met'}`);
// On a shared machine the wall time mostly measures the other tenants; the CPU time the
// process used, spread over its threads, is what the iteration would take with the cores to itself.
console.log(`CPU time: ${round(cpuBest, 3)} CPU-s per iteration over all threads → ≈ ${round(cpuBest / 2, 3)} s per iteration with 2 idle cores`);
console.log(`2-thread speed-up: ${round(results.threads1! / best, 2)}×`);
console.log(`reference (bare compositing arithmetic for the same ${pairs} pairs, 1 thread): ${round(reference, 4)} s; raster fwd (1 thread) / reference = ${round(results.rasterForward1! / reference, 2)}×`);
console.log(
  JSON.stringify({ gaussians: GAUSSIANS, width: WIDTH, height: HEIGHT, pairs, isects, secondsPerIteration1: results.threads1, secondsPerIteration2: best, cpuSecondsPerIteration1: results.cpu1, cpuSecondsPerIteration2: results.cpu2, referenceSeconds: reference, goalSeconds: GOAL_SECONDS, loadAtStart }),
);

/**
 * The (pixel, Gaussian) pairs the forward pass visits: for every tile, each of its Gaussians
 * times the pixels of the tile inside that Gaussian's α ≥ 1/255 bounding box (an upper bound:
 * pixels that turned opaque earlier are skipped).
 */
async function visitedPairs(): Promise<{ pairs: number; isects: number }> {
  const ws = new Workspace({ threads: 1, maxShDegree: 3 });
  loadCloud(ws, cloud);
  setCamera(ws, camera, { count: GAUSSIANS, shDegree: 3, background: [0, 0, 0] });
  const isects = await renderPass(ws, new InlineExecutor(ws));
  const tilesX = Math.ceil(WIDTH / TILE);
  const tiles = tilesX * Math.ceil(HEIGHT / TILE);
  let local: Float64Array = new Float64Array(STRIDE);
  let pairs = 0;
  for (let tile = 0; tile < tiles; tile++) {
    const start = ws.a.tileStart[tile]!;
    const n = ws.a.tileStart[tile + 1]! - start;
    local = gatherTile(ws.a, start, start + n, local);
    const x0 = (tile % tilesX) * TILE;
    const y0 = Math.floor(tile / tilesX) * TILE;
    for (let j = 0; j < n; j++) {
      const o = j * STRIDE;
      const w = Math.min(x0 + TILE - 1, WIDTH - 1, local[o + 11]!) - Math.max(x0, local[o + 10]!) + 1;
      const h = Math.min(y0 + TILE - 1, HEIGHT - 1, local[o + 13]!) - Math.max(y0, local[o + 12]!) + 1;
      if (w > 0 && h > 0) pairs += w * h;
    }
  }
  return { pairs, isects };
}

/** One thread, no tiles: `pairs` σ/exp/blend evaluations cycling over 256 Gaussians held in L1. */
function referenceSeconds(pairs: number): number {
  const n = 256;
  const g = new Float64Array(n * 9);
  for (let j = 0; j < n; j++) {
    g.set([8 + Math.sin(j) * 6, 8 + Math.cos(j) * 6, 0.05, 0.01, 0.05, 0.5, 0.3, 0.5, 0.7], j * 9);
  }
  let best = Infinity;
  let sink = 0;
  for (let rep = 0; rep < 3; rep++) {
    const start = performance.now();
    let r = 0;
    let gr = 0;
    let b = 0;
    let T = 1;
    for (let p = 0, j = 0; p < pairs; p++) {
      const o = j * 9;
      const dx = g[o]! - (p & 15);
      const dy = g[o + 1]! - ((p >> 4) & 15);
      const sigma = 0.5 * (g[o + 2]! * dx * dx + g[o + 4]! * dy * dy) + g[o + 3]! * dx * dy;
      const al = Math.min(0.99, g[o + 5]! * Math.exp(-sigma));
      const w = al * T;
      r += w * g[o + 6]!;
      gr += w * g[o + 7]!;
      b += w * g[o + 8]!;
      T = T * (1 - al) + 1e-3;
      j = j === n - 1 ? 0 : j + 1;
    }
    sink += r + gr + b;
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  if (sink === 42) console.log(sink);
  return best;
}
