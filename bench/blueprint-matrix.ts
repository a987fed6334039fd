/**
 * A 10 photos × 10 defects blueprint generated against the fal stand-in with 50 ms of latency on
 * every call (storage, queue, files) and a 100 ms "model": wall time of the whole matrix, and
 * the most fal requests in flight at once (counted by the stand-in) against the configured
 * concurrency. The reference, measured in the same run, is one generation alone; the ratio says
 * how close the matrix comes to ceil(100 / concurrency) × that.
 *
 * Run: node_modules/.bin/node bench/blueprint-matrix.ts [concurrency=16]   (last line: JSON)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { startRecon } from '../src/recon.ts';
import { falEnv } from '../test/blueprints/blueprint-server.ts';
import { startFakeFal } from '../test/fixtures/fal-server/server.ts';
import { productPhoto, type ProductShape } from '../test/fixtures/products.ts';
import { freePort } from '../test/helpers/postgres.ts';
import { round, table } from './lib/report.ts';

const CONCURRENCY = Number(process.argv[2] ?? 16);
const SIZE = 10;

const fal = await startFakeFal();
fal.faults.latencyMs = 50;
fal.faults.queueMs = 0;
fal.faults.processMs = 100;
const dataDir = await mkdtemp(join(tmpdir(), 'recon-bench-blueprints-'));
const port = await freePort();
const config = loadConfig({ RECON_DATA_DIR: dataDir, ...falEnv(fal, port, { FAL_CONCURRENCY: String(CONCURRENCY), FAL_POLL_MS: '1000' }) });
const recon = await startRecon(config, { log: pino({ level: 'warn' }) });
const url = await recon.listen();

async function call(path: string, body?: unknown, init: RequestInit = {}): Promise<any> {
  const response = await fetch(new URL(path, url), body === undefined ? init : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await response.json();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function blueprint(photos: number, defects: number) {
  const created = await call('/api/blueprints', { name: `bench ${photos}x${defects}` });
  const form = new FormData();
  const shapes: ProductShape[] = ['disc', 'panel', 'bottle'];
  for (let i = 0; i < photos; i++) form.append('images', new Blob([await productPhoto(shapes[i % 3]!, 96 + 8 * i)], { type: 'image/png' }), `photo-${i}.png`);
  await call(`/api/blueprints/${created.id}/objects`, undefined, { method: 'POST', body: form });
  await call(`/api/blueprints/${created.id}/defects`, { defects: Array.from({ length: defects }, (_, i) => ({ name: `defect ${i}` })) });
  return created.id as string;
}

/** Seconds from POST …/generate until no generation is unfinished. */
async function generate(id: string): Promise<number> {
  const start = performance.now();
  await call(`/api/blueprints/${id}/generate`, {});
  for (;;) {
    const view = await call(`/api/blueprints/${id}`);
    const open = view.generations.filter((g: any) => !['completed', 'failed', 'canceled'].includes(g.status));
    if (!open.length) {
      const failed = view.generations.filter((g: any) => g.status !== 'completed');
      if (failed.length) throw new Error(`${failed.length} generations did not complete: ${failed[0].error}`);
      return (performance.now() - start) / 1000;
    }
    // Not faster: the poll reads the whole blueprint, and would compete with the jobs for the embedded database.
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

try {
  const single = await generate(await blueprint(1, 1));
  const callsBefore = { ...fal.stats.calls };
  fal.stats.maxInFlight = 0;
  const matrix = await generate(await blueprint(SIZE, SIZE));
  const generations = SIZE * SIZE;
  const ideal = Math.ceil(generations / CONCURRENCY) * single;
  const perGeneration = Object.fromEntries(
    Object.entries(fal.stats.calls).map(([op, n]) => [op, round((n - callsBefore[op as keyof typeof callsBefore]) / generations, 2)]),
  );
  console.log(
    table(
      ['measure', 'value'],
      [
        ['one generation alone (s)', round(single, 2)],
        [`${SIZE}x${SIZE} matrix (s)`, round(matrix, 2)],
        ['ideal: ceil(100 / concurrency) x one (s)', round(ideal, 2)],
        ['matrix / ideal', `${round(matrix / ideal, 2)}x`],
        ['configured concurrency', CONCURRENCY],
        ['most requests in flight at fal', fal.stats.maxInFlight],
      ],
    ),
  );
  console.log(`fal calls per generation: ${JSON.stringify(perGeneration)}`);
  console.log(
    JSON.stringify({ single, matrix, ideal, ratio: matrix / ideal, concurrency: CONCURRENCY, maxInFlight: fal.stats.maxInFlight, goalSeconds: 30, withinGoal: matrix < 30, perGeneration }),
  );
  if (fal.stats.maxInFlight > CONCURRENCY) process.exitCode = 1;
} finally {
  await recon.close();
  await fal.close();
  await rm(dataDir, { recursive: true, force: true });
}
