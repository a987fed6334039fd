/**
 * What `recon serve` costs before it does any work: time to the first `/api/health` on the first
 * data folder of an install (initdb runs), on a fresh one (a copy of the store template the first
 * left, src/db/pglite-template.ts) and on a restart, CPU while idle, and resident memory while idle — each against the
 * embedded store alone (PGlite opened and migrated the same way, in a process of its own) measured
 * in the same run. Median of ROUNDS rounds.
 *
 * Run: node_modules/.bin/node bench/footprint.ts [--rounds 3] [--idle 20]   (last line: JSON)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { storeTemplatePath } from '../src/db/pglite-template.ts';
import { cpuSeconds, freePort, type NodeChild, RECON_NODE_FLAGS, rssBytes, sleep, startNode, waitForHttp } from './lib/proc.ts';
import { median, mib, round, table } from './lib/report.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, idle: { type: 'string', default: '20' } } });
const ROUNDS = Number(values.rounds);
const IDLE_S = Number(values.idle);

/** Milliseconds from spawning `start()` until `ready()` resolves. */
async function timeTo(start: () => NodeChild, ready: (child: NodeChild) => Promise<unknown>): Promise<{ child: NodeChild; ms: number }> {
  const began = performance.now();
  const child = start();
  await ready(child);
  return { child, ms: performance.now() - began };
}

/** CPU share of one core and RSS after `IDLE_S` seconds of nothing. */
async function idle(pid: number): Promise<{ cpu: number; rss: number }> {
  await sleep(2000);
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(IDLE_S * 1000);
  return { cpu: (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000), rss: rssBytes(pid) };
}

/** The next new store runs initdb and the migrations, as the first one on an install does. */
const forgetStoreTemplate = async () => rm(await storeTemplatePath(), { recursive: true, force: true });

interface Round {
  reconFirst: number;
  reconFresh: number;
  reconRestart: number;
  reconCpu: number;
  reconRss: number;
  pgliteFirst: number;
  pgliteFresh: number;
  pgliteRestart: number;
  pgliteCpu: number;
  pgliteRss: number;
}

async function round1(): Promise<Round> {
  const dirs = await Promise.all(['recon-footprint-', 'recon-footprint-first-', 'recon-footprint-pglite-', 'recon-footprint-pglite-first-'].map((prefix) => mkdtemp(join(tmpdir(), prefix))));
  try {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/api/health`;
    const serve = (dataDir = dirs[0]) => () =>
      startNode([...RECON_NODE_FLAGS, 'src/main.ts', 'serve'], { RECON_DATA_DIR: dataDir, PORT: String(port), RECON_LOG_LEVEL: 'warn' });
    const alone = (dataDir = dirs[2]) => () => startNode(['bench/lib/pglite-alone.ts', dataDir!]);
    const aloneReady = (child: NodeChild) => child.waitForLine(/^ready/, 120_000);

    await forgetStoreTemplate();
    const first = await timeTo(serve(dirs[1]), (child) => waitForHttp(url, child, 120_000));
    await first.child.stop();
    const fresh = await timeTo(serve(), (child) => waitForHttp(url, child, 120_000));
    const reconIdle = await idle(fresh.child.pid);
    await fresh.child.stop();
    const restart = await timeTo(serve(), (child) => waitForHttp(url, child, 120_000));
    await restart.child.stop();

    await forgetStoreTemplate();
    const pgFirst = await timeTo(alone(dirs[3]), aloneReady);
    await pgFirst.child.stop();
    const pgFresh = await timeTo(alone(), aloneReady);
    const pgIdle = await idle(pgFresh.child.pid);
    await pgFresh.child.stop();
    const pgRestart = await timeTo(alone(), aloneReady);
    await pgRestart.child.stop();
    return {
      reconFirst: first.ms,
      reconFresh: fresh.ms,
      reconRestart: restart.ms,
      reconCpu: reconIdle.cpu,
      reconRss: reconIdle.rss,
      pgliteFirst: pgFirst.ms,
      pgliteFresh: pgFresh.ms,
      pgliteRestart: pgRestart.ms,
      pgliteCpu: pgIdle.cpu,
      pgliteRss: pgIdle.rss,
    };
  } finally {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
}

const rounds: Round[] = [];
for (let i = 0; i < ROUNDS; i++) rounds.push(await round1());
const m = (key: keyof Round) => median(rounds.map((r) => r[key]));
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const pct = (share: number) => `${(share * 100).toFixed(2)} %`;
console.log(
  table(
    ['what (median of rounds)', 'recon serve', 'PGlite alone (open + migrate)', 'ratio'],
    [
      ['start, first data folder of an install (initdb) → /api/health', s(m('reconFirst')), s(m('pgliteFirst')), round(m('reconFirst') / m('pgliteFirst'), 2)],
      ['start, fresh data folder → /api/health', s(m('reconFresh')), s(m('pgliteFresh')), round(m('reconFresh') / m('pgliteFresh'), 2)],
      ['restart → /api/health', s(m('reconRestart')), s(m('pgliteRestart')), round(m('reconRestart') / m('pgliteRestart'), 2)],
      [`idle CPU (${IDLE_S} s, of one core)`, pct(m('reconCpu')), pct(m('pgliteCpu')), '—'],
      ['idle RSS', `${mib(m('reconRss'))} MiB`, `${mib(m('pgliteRss'))} MiB`, round(m('reconRss') / m('pgliteRss'), 2)],
    ],
  ),
);
console.log(
  JSON.stringify({
    rounds: ROUNDS,
    idle_s: IDLE_S,
    start_first_s: round(m('reconFirst') / 1000),
    start_fresh_s: round(m('reconFresh') / 1000),
    restart_s: round(m('reconRestart') / 1000),
    idle_cpu: round(m('reconCpu'), 4),
    idle_rss_mib: round(m('reconRss') / 2 ** 20, 1),
    pglite_first_s: round(m('pgliteFirst') / 1000),
    pglite_fresh_s: round(m('pgliteFresh') / 1000),
    pglite_restart_s: round(m('pgliteRestart') / 1000),
    pglite_idle_cpu: round(m('pgliteCpu'), 4),
    pglite_idle_rss_mib: round(m('pgliteRss') / 2 ** 20, 1),
    all: rounds,
  }),
);
