/**
 * COLMAP engine vs plain COLMAP on the Strecha benchmark scenes, against their reference cameras.
 *
 *   node_modules/.bin/node bench/colmap-gt.ts [--dataset fountain-P11|herzjesu-P8]…
 *
 * For each dataset: (a) Recon end to end — an embedded server, the photos uploaded over HTTP,
 * queued, reconstructed by the colmap engine, predictions.npz downloaded — or, with
 * `--via engine`, the engine alone through a fake EngineContext; (b) the same colmap commands run
 * directly. Reports registered images, points, camera-centre error after a similarity alignment
 * (mm), wall times and their ratio (a)/(b); then one JSON line.
 */
import { spawn } from 'node:child_process';
import { openAsBlob } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildPipeline, type ColmapLayout, modelConverterArgs } from '../src/engines/colmap/commands.ts';
import { colmapEngine } from '../src/engines/colmap/index.ts';
import { type ColmapSettings, colmapSettings } from '../src/engines/colmap/settings.ts';
import { extrinsicMatrix, readColmapModel } from '../src/formats/colmap-model.ts';
import { readNpz } from '../src/formats/npz.ts';
import { loadConfig } from '../src/config.ts';
import type { RunView } from '../src/contract/runs.ts';
import { createLogger } from '../src/logger.ts';
import { startRecon } from '../src/recon.ts';
import { createFakeContext } from '../test/fixtures/synthetic/fake-context.ts';
import { type CameraPose, comparePoses, poseFromExtrinsic } from '../test/fixtures/synthetic/pose-error.ts';

export const DATASETS = ['fountain-P11', 'herzjesu-P8'] as const;
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DATASETS_ROOT = resolve(REPO_ROOT, '..', 'shared', 'datasets');

/** What one way of reconstructing produced; `extrinsics` maps image file name → 3×4 row-major. */
export interface Reconstruction {
  wallSeconds: number;
  extrinsics: Map<string, number[]>;
  points: number;
}

/** Reconstructs `images` (absolute, sorted) with `settings`; `scratch` is a private empty folder. */
export type Reconstructor = (images: string[], settings: ColmapSettings, scratch: string) => Promise<Reconstruction>;

export interface RunReport {
  wallSeconds: number;
  registered: number;
  points: number;
  centreErrorMeanMm: number;
  centreErrorMaxMm: number;
  rotationErrorMaxDeg: number;
}

export interface DatasetReport {
  dataset: string;
  images: number;
  engine: RunReport;
  direct: RunReport;
  /** engine wall time / direct wall time; the goal is ≤ 1.05. */
  ratio: number;
}

export const BENCH_SETTINGS: ColmapSettings = colmapSettings.parse({ maxImageSize: 1000, matcher: 'exhaustive' });

/** (a), end to end: an embedded Recon server, driven over HTTP as a client would. */
export const viaApi: Reconstructor = async (images, settings, scratch) => {
  const recon = await startRecon(loadConfig({ RECON_DATA_DIR: join(scratch, 'data'), PORT: '0' }), { log: createLogger('warn') });
  try {
    const url = await recon.listen();
    const call = async (path: string, init?: RequestInit) => {
      const response = await fetch(`${url}${path}`, init);
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return response;
    };
    const started = performance.now();
    const body = JSON.stringify({ engine: 'colmap', settings });
    const { runId } = (await (await call('/api/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json()) as RunView;
    const form = new FormData();
    for (const image of images) form.append('images', await openAsBlob(image), basename(image));
    await call(`/api/runs/${runId}/images`, { method: 'POST', body: form });
    await call(`/api/runs/${runId}/process`, { method: 'POST' });
    await (await call(`/api/runs/${runId}/stream`)).text();
    const run = (await (await call(`/api/runs/${runId}`)).json()) as RunView;
    if (run.status !== 'completed') throw new Error(`run ${run.status}: ${run.error}`);
    const npz = join(scratch, 'predictions.npz');
    await mkdir(scratch, { recursive: true });
    await writeFile(npz, Buffer.from(await (await call(run.artifacts.predictions ?? '')).arrayBuffer()));
    const wallSeconds = (performance.now() - started) / 1000;
    return { wallSeconds, ...(await readPredictions(npz)) };
  } finally {
    await recon.close();
  }
};

/** (a), the engine alone, through a fake EngineContext. */
export const viaEngine: Reconstructor = async (images, settings) => {
  const run = await createFakeContext(images, settings);
  try {
    const started = performance.now();
    await colmapEngine.run(run.ctx);
    const wallSeconds = (performance.now() - started) / 1000;
    return { wallSeconds, ...(await readPredictions(run.artifacts.get('predictions')!)) };
  } finally {
    await rm(run.root, { recursive: true, force: true });
  }
};

/** Registered cameras and point count from a predictions.npz, e.g. one downloaded from the API. */
export async function readPredictions(path: string): Promise<Omit<Reconstruction, 'wallSeconds'>> {
  const npz = await readNpz(path);
  try {
    const names = npz.get('image_names').data as string[];
    const extrinsic = npz.get('extrinsic').data as Float32Array;
    const extrinsics = new Map(names.map((name, i) => [name, [...extrinsic.subarray(i * 12, i * 12 + 12)]]));
    return { extrinsics, points: npz.get('points').shape[0] ?? 0 };
  } finally {
    await npz.close();
  }
}

/** (b): the same colmap commands, spawned directly with their output discarded. */
export const viaDirectColmap: Reconstructor = async (images, settings, scratch) => {
  const layout: ColmapLayout = {
    databasePath: join(scratch, 'database.db'),
    imagePath: dirname(images[0]!),
    imageListPath: join(scratch, 'image-list.txt'),
    sparsePath: join(scratch, 'sparse'),
  };
  await mkdir(layout.sparsePath, { recursive: true });
  await writeFile(layout.imageListPath, `${images.map((i) => basename(i)).join('\n')}\n`);
  const model = join(layout.sparsePath, '0');
  const started = performance.now();
  for (const step of buildPipeline(settings, layout, images.length)) await spawnColmap(step.args);
  await spawnColmap(modelConverterArgs(model, model, 'TXT'));
  const wallSeconds = (performance.now() - started) / 1000;
  const reconstruction = await readColmapModel(model);
  const extrinsics = new Map([...reconstruction.images.values()].map((image) => [image.name, extrinsicMatrix(image)]));
  return { wallSeconds, extrinsics, points: reconstruction.points3D.size };
};

function spawnColmap(args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('colmap', args, { stdio: 'ignore', env: { ...process.env, QT_QPA_PLATFORM: 'offscreen' } });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`colmap ${args[0]} exited with ${code}`))));
  });
}

/**
 * A reference camera file: K (3 lines), distortion, R camera-to-world (3 lines), centre,
 * size. The camera-from-world rotation is Rᵀ.
 */
export async function readReferenceCamera(path: string): Promise<CameraPose> {
  const rows = (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number));
  const r = rows.slice(4, 7);
  const center = rows[7];
  if (r.length !== 3 || !center || center.length !== 3) throw new Error(`${path}: not a reference camera file`);
  const rotation = [0, 1, 2].flatMap((row) => [0, 1, 2].map((col) => r[col]![row]!));
  return { center, rotation };
}

export async function measureDataset(dataset: string, options: { engine?: Reconstructor; settings?: ColmapSettings } = {}): Promise<DatasetReport> {
  const { engine = viaApi, settings = BENCH_SETTINGS } = options;
  const folder = join(DATASETS_ROOT, dataset);
  const names = (await readdir(join(folder, 'images'))).filter((n) => /\.jpe?g$/i.test(n)).sort();
  const images = names.map((n) => join(folder, 'images', n));
  const reference = new Map<string, CameraPose>();
  for (const name of names) reference.set(name, await readReferenceCamera(join(folder, 'gt_dense_cameras', `${name}.camera`)));

  const scratch = await mkdtemp(join(tmpdir(), `recon-bench-${dataset}-`));
  try {
    // The direct run goes first so that any disk-cache warm-up favours the baseline.
    const direct = await viaDirectColmap(images, settings, join(scratch, 'direct'));
    const viaRecon = await engine(images, settings, join(scratch, 'engine'));
    const report = (r: Reconstruction): RunReport => {
      const registered = names.filter((n) => r.extrinsics.has(n));
      const compared = comparePoses(
        registered.map((n) => poseFromExtrinsic(r.extrinsics.get(n)!)),
        registered.map((n) => reference.get(n)!),
      );
      const errors = compared.centerErrors.map((metres) => metres * 1000);
      return {
        wallSeconds: round(r.wallSeconds, 2),
        registered: registered.length,
        points: r.points,
        centreErrorMeanMm: round(errors.reduce((a, b) => a + b, 0) / errors.length, 2),
        centreErrorMaxMm: round(Math.max(...errors), 2),
        rotationErrorMaxDeg: round(Math.max(...compared.rotationErrors), 3),
      };
    };
    const engineReport = report(viaRecon);
    const directReport = report(direct);
    return { dataset, images: names.length, engine: engineReport, direct: directReport, ratio: round(viaRecon.wallSeconds / direct.wallSeconds, 3) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

function printTable(reports: DatasetReport[]): void {
  const header = ['dataset', 'run', 'registered', 'points', 'centre err mean (mm)', 'max (mm)', 'rot err max (°)', 'wall (s)', '(a)/(b)'];
  const rows = reports.flatMap((r) => [
    [r.dataset, '(a) recon', `${r.engine.registered}/${r.images}`, r.engine.points, r.engine.centreErrorMeanMm, r.engine.centreErrorMaxMm, r.engine.rotationErrorMaxDeg, r.engine.wallSeconds, r.ratio],
    ['', '(b) colmap', `${r.direct.registered}/${r.images}`, r.direct.points, r.direct.centreErrorMeanMm, r.direct.centreErrorMaxMm, r.direct.rotationErrorMaxDeg, r.direct.wallSeconds, ''],
  ]);
  const cells = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  for (const [index, row] of cells.entries()) {
    console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
    if (index === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dataset: { type: 'string', multiple: true }, via: { type: 'string', default: 'api' } } });
  const engine = values.via === 'engine' ? viaEngine : viaApi;
  const datasets = values.dataset ?? [...DATASETS];
  for (const dataset of datasets) {
    if (!(DATASETS as readonly string[]).includes(dataset)) throw new Error(`unknown dataset "${dataset}"; choose from ${DATASETS.join(', ')}`);
  }
  const reports: DatasetReport[] = [];
  for (const dataset of datasets) {
    console.error(`${dataset}: running plain COLMAP, then Recon (${values.via})…`);
    reports.push(await measureDataset(dataset, { engine }));
  }
  printTable(reports);
  console.log(JSON.stringify({ bench: 'colmap-gt', via: values.via, settings: { maxImageSize: BENCH_SETTINGS.maxImageSize, matcher: BENCH_SETTINGS.matcher }, reports }));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
