/**
 * `GET /api/runs/:id` requests per second against a bare Fastify 5 route that returns a constant.
 *
 * Both servers run in child processes of their own (same treatment: one Node process each, started
 * the same way), autocannon drives them from this process (10 connections, a 1 s warm-up, then
 * DURATION_S seconds), alternating baseline and Recon for ROUNDS rounds. The Recon run is
 * realistic: IMAGES uploaded JPEGs, processed to `completed` by the test engine, so the answer
 * holds its images and artifacts. Any non-2xx answer, error or timeout fails the bench. Goal:
 * median Recon rps / median baseline rps >= 0.6 (issue #13); nothing here asserts on timing.
 *
 * Run: node_modules/.bin/node bench/status.ts [--profile] [--breakdown]   (last line: JSON)
 * `--profile` runs the Recon child under --cpu-prof and prints where its main thread spent the
 * measured seconds (a wall-clock profile: on a loaded machine, time spent preempted lands in
 * whatever ran, socket writes above all). `--breakdown` then starts Recon in this process and
 * times the pieces of one request with process.cpuUsage (CPU µs, which preemption does not
 * inflate): the whole request via inject, the service call, each query, the framework alone.
 * BENCH_ROUNDS=N and BENCH_DURATION_S=N change the rounds and their length; BENCH_RECON_NODE_FLAGS
 * gives the Recon child extra Node flags.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeImage } from '../test/helpers/images.ts';
import { latestProfile, monotonicMicros, printSummary, summarize } from './lib/cpuprofile.ts';
import { cpuSeconds, freePort, type NodeChild, RECON_NODE_FLAGS, rssBytes, sleep, startNode, waitForHttp } from './lib/proc.ts';
import { max, median, mib, round, table } from './lib/report.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const WARMUP_S = 1;
const GOAL_MEDIAN_RATIO = 0.6;
const CONNECTIONS = 10;
const IMAGES = 6;
const PROFILE = process.argv.includes('--profile');
const BREAKDOWN = process.argv.includes('--breakdown');

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  resets: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  throughput: { average: number };
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

interface Round {
  side: 'baseline' | 'recon' | 'recon-health';
  round: number;
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  cpuPercent: number;
  cpuMicrosPerRequest: number;
}

/** A realistic run: IMAGES uploaded JPEGs, processed by the test engine to `completed`. */
async function prepareRun(base: string): Promise<string> {
  const created = await fetch(`${base}/api/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ engine: 'test', settings: { steps: 2, stepMs: 10 } }),
  });
  if (created.status !== 201) throw new Error(`POST /api/runs: ${created.status} ${await created.text()}`);
  const { runId } = (await created.json()) as { runId: string };
  const form = new FormData();
  for (let i = 0; i < IMAGES; i++) {
    form.append('images', new Blob([new Uint8Array(await makeImage(i, 'jpeg', 96))], { type: 'image/jpeg' }), `view-${i + 1}.jpg`);
  }
  const uploaded = await fetch(`${base}/api/runs/${runId}/images`, { method: 'POST', body: form });
  if (uploaded.status !== 200) throw new Error(`upload: ${uploaded.status} ${await uploaded.text()}`);
  const processed = await fetch(`${base}/api/runs/${runId}/process`, { method: 'POST' });
  if (processed.status !== 202) throw new Error(`process: ${processed.status} ${await processed.text()}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const run = (await (await fetch(`${base}/api/runs/${runId}`)).json()) as { status: string };
    if (run.status === 'completed') break;
    if (['failed', 'canceled'].includes(run.status)) throw new Error(`run ${runId} ${run.status}: ${JSON.stringify(run)}`);
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.status} after 60 s`);
    await sleep(100);
  }
  // Whatever runs after completion (previews, compression) settles before measuring.
  await sleep(2000);
  return runId;
}

/** Mean wall and CPU (all threads of this process) microseconds per call, after a warm-up. */
async function timeIt(calls: number, fn: () => Promise<unknown>) {
  for (let i = 0; i < Math.min(100, calls); i++) await fn();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < calls; i++) await fn();
  const wall = ((performance.now() - started) * 1000) / calls;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / calls };
}

/** Recon in this process: what each piece of one GET /api/runs/:id costs. */
async function breakdown() {
  const { default: pino } = await import('pino');
  const { default: Fastify } = await import('fastify');
  const { loadConfig } = await import('../src/config.ts');
  const { startRecon } = await import('../src/recon.ts');
  const dataDir = await mkdtemp(join(tmpdir(), 'recon-bench-status-inproc-'));
  const config = loadConfig({ RECON_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '0', RECON_TEST_ENGINES: '1', RECON_LOG_LEVEL: 'warn' });
  const recon = await startRecon(config, { log: pino({ level: 'warn' }) });
  try {
    const base = await recon.listen();
    const runId = await prepareRun(base);
    const { app, store } = recon;
    const pglite = store.pglite;
    const bare = Fastify({ logger: false });
    bare.get('/api/runs/:runId', async () => ({ runId: 'run_0000000000000_constant', status: 'completed' }));
    await bare.ready();

    // Which statements one request runs.
    const statements: string[] = [];
    if (pglite) {
      const query = pglite.query.bind(pglite);
      pglite.query = ((sql: string, ...rest: unknown[]) => {
        statements.push(sql.replace(/\s+/g, ' '));
        return (query as (...a: unknown[]) => unknown)(sql, ...rest);
      }) as typeof pglite.query;
    }
    const once = await app.inject({ url: `/api/runs/${runId}` });
    if (once.statusCode !== 200) throw new Error(`inject GET /api/runs/${runId}: ${once.statusCode} ${once.body}`);
    console.log(`\nin-process breakdown (Recon started in this process, ${store.kind}); one GET /api/runs/:id runs ${statements.length} statements:`);
    for (const sql of statements) console.log(`  ${sql}`);

    const CALLS = 1000;
    const view = await recon.runs.get(runId);
    const rows: [string, () => Promise<unknown>][] = [
      ['whole request: app.inject GET /api/runs/:id', () => app.inject({ url: `/api/runs/${runId}` })],
      ['Recon stack, no database: app.inject GET /api/health', () => app.inject({ url: '/api/health' })],
      ['bare Fastify constant route: app.inject', () => bare.inject({ url: `/api/runs/${runId}` })],
      ['RunsService.get(id) (what the handler awaits)', () => recon.runs.get(runId)],
    ];
    if (pglite) {
      rows.push(
        ['  PGlite: select * from runs where id = $1', () => pglite.query('select * from "runs" where "id" = $1', [runId])],
        [
          '  PGlite: the run\'s image names',
          () => pglite.query('select "name", "bytes", "content_type" from "run_images" where "run_id" = $1 order by name collate "C"', [runId]),
        ],
        ['  PGlite: select 1 (floor of any query)', () => pglite.query('select 1')],
      );
    }
    rows.push(['  JSON.stringify(run view)', async () => JSON.stringify(view)]);
    const measured = [];
    for (const [label, fn] of rows) measured.push([label, await timeIt(CALLS, fn)] as const);
    // What a cache would leave: the same request with the service call answered from memory
    // (an experiment on this in-process instance only; src/ is untouched).
    const service = recon.runs as unknown as { get: (id: string, owner?: string | null) => Promise<unknown> };
    const realGet = service.get;
    service.get = async () => view;
    try {
      const cachedOnce = await app.inject({ url: `/api/runs/${runId}` });
      if (cachedOnce.body !== once.body) throw new Error('the answer from memory differs from the real one');
      measured.splice(1, 0, [
        'same request, RunsService.get answered from memory',
        await timeIt(CALLS, () => app.inject({ url: `/api/runs/${runId}` })),
      ] as const);
    } finally {
      service.get = realGet;
    }
    console.log('');
    console.log(table(['piece', 'wall µs', 'cpu µs'], measured.map(([label, t]) => [label, t.wall.toFixed(0), t.cpu.toFixed(0)])));

    // The same whole-request loop under the CPU profiler (in-process: no sockets, no other process).
    const { Session } = await import('node:inspector/promises');
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    for (let i = 0; i < CALLS; i++) await app.inject({ url: `/api/runs/${runId}` });
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    const profilePath = join(dataDir, 'inject.cpuprofile');
    await writeFile(profilePath, JSON.stringify(profile));
    console.log(`\n${CALLS} x app.inject GET /api/runs/:id under the CPU profiler:`);
    const summary = summarize(profilePath);
    printSummary(summary, 20);
    const share = (label: string, match: (fn: string, place: string) => boolean) =>
      console.log(`  inclusive ${label.padEnd(34)} ${(summary.inclusive(match) * 100).toFixed(1)}%`);
    share('PGlite (JS + wasm)', (_fn, p) => p === '@electric-sql/pglite' || p.startsWith('wasm://'));
    share('kysely', (_fn, p) => p === 'kysely');
    share('fastify + find-my-way + light-my-request', (_fn, p) => ['fastify', 'find-my-way', 'light-my-request'].includes(p));
    share('zod', (_fn, p) => p === 'zod');
    share('src/ (Recon code, self and below)', (_fn, p) => p.startsWith('src/'));
    share('GC', (fn) => fn === '(garbage collector)');
    return Object.fromEntries(measured.map(([label, t]) => [label.trim(), Math.round(t.cpu)]));
  } finally {
    await recon.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'recon-bench-status-'));
  const children: NodeChild[] = [];
  try {
    const profileDir = join(work, 'profile');
    const baseline = startNode(['bench/lib/bare-fastify-server.ts'], { PORT: '0' });
    children.push(baseline);
    const baselinePort = Number((await baseline.waitForLine(/^LISTENING (\d+)$/))[1]);

    const port = await freePort();
    const recon = startNode([...RECON_NODE_FLAGS, ...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), 'src/main.ts', 'serve'], {
      RECON_DATA_DIR: join(work, 'recon-data'),
      HOST: '127.0.0.1',
      PORT: String(port),
      RECON_TEST_ENGINES: '1',
      RECON_LOG_LEVEL: 'warn',
      DATABASE_URL: undefined,
    });
    children.push(recon);
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/api/health`, recon);

    const runId = await prepareRun(base);
    const reconUrl = `${base}/api/runs/${runId}`;
    const baselineUrl = `http://127.0.0.1:${baselinePort}/api/runs/${runId}`;
    const sample = async (url: string) => {
      const response = await fetch(url);
      const text = await response.text();
      if (response.status !== 200) throw new Error(`GET ${url}: ${response.status} ${text.slice(0, 300)}`);
      return text;
    };
    const reconBody = await sample(reconUrl);
    const baselineBody = await sample(baselineUrl);
    const view = JSON.parse(reconBody) as { status: string; images: string[]; artifacts: Record<string, string> };
    console.log(
      `recon run ${runId}: status ${view.status}, ${view.images.length} images, artifacts [${Object.keys(view.artifacts).join(', ')}], answer ${reconBody.length} bytes; baseline answer ${baselineBody.length} bytes`,
    );
    if (view.status !== 'completed' || view.images.length !== IMAGES || !Object.keys(view.artifacts).length) {
      throw new Error(`unexpected run view: ${reconBody.slice(0, 500)}`);
    }

    const rounds: Round[] = [];
    const windows: [number, number][] = [];
    const measure = async (side: Round['side'], round: number, url: string, pid: number) => {
      await autocannon({ url, connections: CONNECTIONS, duration: WARMUP_S });
      const cpuBefore = cpuSeconds(pid);
      const from = monotonicMicros();
      const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S });
      if (side === 'recon') windows.push([from, monotonicMicros()]);
      const cpu = cpuSeconds(pid) - cpuBefore;
      if (result.non2xx || result.errors || result.timeouts || !result['2xx']) {
        throw new Error(
          `${side} round ${round}: ${result['2xx']} 2xx, ${result.non2xx} non-2xx ${JSON.stringify(result.statusCodeStats)}, ${result.errors} errors, ${result.timeouts} timeouts`,
        );
      }
      const entry: Round = {
        side,
        round,
        rps: result['2xx'] / result.duration,
        requests: result['2xx'],
        p50: result.latency.p50,
        p99: result.latency.p99,
        cpuPercent: (cpu / result.duration) * 100,
        cpuMicrosPerRequest: (cpu / result['2xx']) * 1e6,
      };
      rounds.push(entry);
      console.log(
        `  round ${round} ${side.padEnd(8)} ${entry.rps.toFixed(0).padStart(6)} req/s  p50 ${entry.p50} ms  p99 ${entry.p99} ms  server cpu ${entry.cpuPercent.toFixed(0)}% (${entry.cpuMicrosPerRequest.toFixed(0)} µs/req)`,
      );
    };
    for (let round = 1; round <= ROUNDS; round++) {
      await measure('baseline', round, baselineUrl, baseline.pid);
      await measure('recon', round, reconUrl, recon.pid);
      // Reference point, not part of the goal: Recon's stack on a route that touches no database.
      await measure('recon-health', round, `${base}/api/health`, recon.pid);
    }
    const reconRss = rssBytes(recon.pid);
    const baselineRss = rssBytes(baseline.pid);

    const summary = (['baseline', 'recon', 'recon-health'] as const).map((side) => {
      const mine = rounds.filter((r) => r.side === side);
      return {
        side,
        best: max(mine.map((r) => r.rps)),
        median: median(mine.map((r) => r.rps)),
        p50: median(mine.map((r) => r.p50)),
        p99: median(mine.map((r) => r.p99)),
        cpuMicros: median(mine.map((r) => r.cpuMicrosPerRequest)),
        rss: side === 'baseline' ? baselineRss : reconRss,
      };
    });
    const [base0, rec, health] = summary as [(typeof summary)[0], (typeof summary)[0], (typeof summary)[0]];
    const ratioBest = rec.best / base0.best;
    const ratioMedian = rec.median / base0.median;

    console.log(`\nGET /api/runs/:id, ${CONNECTIONS} connections, ${DURATION_S} s per round after a ${WARMUP_S} s warm-up, ${ROUNDS} rounds per side`);
    if (RECON_NODE_FLAGS.length) console.log(`recon child started with node ${RECON_NODE_FLAGS.join(' ')}`);
    console.log('');
    console.log(
      table(
        ['round', 'side', 'req/s', 'p50 ms', 'p99 ms', 'server cpu %', 'cpu µs/req'],
        rounds.map((r) => [r.round, r.side, r.rps.toFixed(0), r.p50, r.p99, r.cpuPercent.toFixed(0), r.cpuMicrosPerRequest.toFixed(0)]),
      ),
    );
    console.log('');
    console.log(
      table(
        ['side', 'best req/s', 'median req/s', 'median p50 ms', 'median p99 ms', 'cpu µs/req', 'RSS MiB'],
        summary.map((s) => [s.side, s.best.toFixed(0), s.median.toFixed(0), s.p50, s.p99, s.cpuMicros.toFixed(0), mib(s.rss)]),
      ),
    );
    console.log('');
    console.log(`requests/s recon/baseline: best ${ratioBest.toFixed(3)}, median ${ratioMedian.toFixed(3)}   (goal: median >= ${GOAL_MEDIAN_RATIO}: ${ratioMedian >= GOAL_MEDIAN_RATIO ? 'met' : 'MISSED'})`);
    console.log(`for reference, recon GET /api/health (no database) / baseline: best ${(health.best / base0.best).toFixed(3)}`);

    if (PROFILE) {
      await recon.stop();
      console.log(`\nrecon server, main thread, during the ${ROUNDS} measured rounds only:`);
      const profile = summarize(latestProfile(profileDir), windows);
      printSummary(profile, 25, 4);
      const share = (label: string, match: (fn: string, place: string) => boolean) =>
        console.log(`  inclusive ${label.padEnd(42)} ${(profile.inclusive(match) * 100).toFixed(1)}%`);
      share('route handler (runs.get and below)', (fn, p) => p === 'src/core' && fn === 'get');
      share('PGlite (JS + wasm)', (_fn, p) => p === '@electric-sql/pglite' || p.startsWith('wasm://'));
      share('kysely', (_fn, p) => p === 'kysely');
      share('src/db (repositories, dialect)', (_fn, p) => p === 'src/db');
      share('@fastify/rate-limit', (_fn, p) => p === '@fastify/rate-limit');
      share('prom-client', (_fn, p) => p === 'prom-client');
      share('src/http (plugins, routes)', (_fn, p) => p.startsWith('src/http'));
      share('src/auth', (_fn, p) => p.startsWith('src/auth'));
      share('zod', (_fn, p) => p === 'zod');
      share('GC', (fn) => fn === '(garbage collector)');
    }

    for (const child of children) await child.stop();
    const cpuMicros = BREAKDOWN ? await breakdown() : undefined;

    console.log(
      JSON.stringify({
        bench: 'status',
        connections: CONNECTIONS,
        durationS: DURATION_S,
        rounds: ROUNDS,
        reconNodeFlags: RECON_NODE_FLAGS.join(' '),
        baselineRps: { best: Math.round(base0.best), median: Math.round(base0.median) },
        reconRps: { best: Math.round(rec.best), median: Math.round(rec.median) },
        ratio: { best: round(ratioBest), median: round(ratioMedian) },
        latencyMs: { baseline: { p50: base0.p50, p99: base0.p99 }, recon: { p50: rec.p50, p99: rec.p99 } },
        serverCpuMicrosPerRequest: { baseline: Math.round(base0.cpuMicros), recon: Math.round(rec.cpuMicros) },
        reconHealthRps: { best: Math.round(health.best), median: Math.round(health.median), ratio: round(health.best / base0.best) },
        serverCpuMicrosPerHealthRequest: Math.round(health.cpuMicros),
        reconAnswerBytes: reconBody.length,
        goal: { medianRatio: GOAL_MEDIAN_RATIO, met: ratioMedian >= GOAL_MEDIAN_RATIO },
        ...(cpuMicros && { breakdownCpuMicros: cpuMicros }),
      }),
    );
  } finally {
    for (const child of children.reverse()) await child.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
