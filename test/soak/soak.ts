/**
 * Soak and chaos: many runs through the HTTP API of a real `recon serve` child process, with the
 * test engine failing at random (transient, permanent, crashing), webhooks to a receiver that
 * fails at random, cancels and reruns mixed in — while the server is SIGKILLed and restarted.
 * Then it checks that nothing was lost, stuck, duplicated or left behind, and returns the figures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.ts';
import { openStore } from '../../src/db/database.ts';
import { makeImage, multipart } from '../helpers/images.ts';
import { createDatabase, freePort, startPostgres } from '../helpers/postgres.ts';
import { DELIVERY_CONCURRENCY } from '../../src/webhooks/delivery-loop.ts';
import { startReceiver } from '../webhooks/receiver.ts';
import { seededRandom as random } from '../../src/domain/seeded-random.ts';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'main.ts');
const FINAL = new Set(['completed', 'failed', 'canceled']);
const FAILURES = ['none', 'none', 'none', 'none', 'none', 'transient', 'transient', 'permanent', 'crash'] as const;

export interface SoakOptions {
  runs: number;
  store: 'pglite' | 'postgres';
  /** Mean time between kill -9s of the server; 0 never kills. */
  killEveryMs: number;
  /** Runs the client keeps in flight. */
  clients?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  store: string;
  runs: number;
  byStatus: Record<string, number>;
  faults: Record<string, number>;
  kills: number;
  cancels: number;
  reruns: number;
  lostResponses: number;
  /** Reruns whose answer was lost (the run may exist; it must still end). */
  lostReruns: number;
  webhookEvents: number;
  webhookAttempts: number;
  webhookRefusals: number;
  /** Events whose delivery got a 2xx more than once: a kill between the receiver's answer and the server recording it (up to DELIVERY_CONCURRENCY per kill). */
  webhookDuplicates: number;
  /**
   * Staged files a kill -9 cut short, left in tmp/ on Postgres: a server there shares its data
   * folder's scratch with other processes, so only the age-based blob sweep removes them.
   */
  crashLeftovers: number;
  seconds: number;
  /** Everything that is wrong; empty when the soak passed. */
  problems: string[];
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const rand = random(options.seed ?? 1);
  const dataDir = await mkdtemp(join(tmpdir(), 'recon-soak-'));
  const postgres = options.store === 'postgres' ? await startPostgres() : undefined;
  const databaseUrl = postgres ? await createDatabase(postgres.url, 'soak') : undefined;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const receiver = await startReceiver(() => ({ status: rand() < 0.25 ? 503 : 204 }));
  const env = {
    ...process.env,
    RECON_DATA_DIR: dataDir,
    PORT: String(port),
    RECON_TEST_ENGINES: '1',
    RECON_ENGINE_CONCURRENCY: '4',
    RECON_MAX_ATTEMPTS: '3',
    RECON_RETRY_BASE_MS: '50',
    RECON_RETRY_MAX_MS: '300',
    RECON_RATE_LIMIT_MAX: '0',
    RECON_RATE_LIMIT_RUNS_PER_HOUR: '100000000',
    RECON_WEBHOOK_ALLOW_PRIVATE: '1',
    RECON_WEBHOOK_RETRY_SCHEDULE: '0,0.2,0.5,1,1,1,1,1,1,1,1,1',
    RECON_WEBHOOK_TIMEOUT_MS: '2000',
    RECON_LOG_LEVEL: 'error',
    // On Postgres the runs of a killed server wait for their job's heartbeat to lapse and the
    // queue supervisor to notice (30 s + up to 60 s by default): shorter here, so kills add
    // seconds, not minutes, to a soak.
    RECON_JOB_HEARTBEAT_SECONDS: '10',
    RECON_QUEUE_SUPERVISE_SECONDS: '2',
    ...(databaseUrl && { DATABASE_URL: databaseUrl }),
  };

  const report: SoakReport = {
    store: options.store,
    runs: 0,
    byStatus: {},
    faults: {},
    kills: 0,
    cancels: 0,
    reruns: 0,
    lostResponses: 0,
    lostReruns: 0,
    webhookEvents: 0,
    webhookAttempts: 0,
    webhookRefusals: 0,
    webhookDuplicates: 0,
    crashLeftovers: 0,
    seconds: 0,
    problems: [],
  };
  let child: ChildProcess | undefined;
  let lastStart = 0;
  let stopping = false;
  let errors = '';
  const start = async () => {
    const current = spawn(process.execPath, [MAIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = current;
    const keep = (d: Buffer) => (errors = (errors + d).slice(-4000));
    current.stdout?.on('data', keep);
    current.stderr?.on('data', keep);
    // A server that exits without being killed is a finding; it is restarted so the soak goes on.
    current.once('exit', (code, signal) => {
      if (stopping || current !== child) return;
      report.problems.push(`the server (pid ${current.pid}) exited on its own (${signal ?? code}): ${errors.slice(-1500)}`);
      void restart();
    });
    const deadline = Date.now() + 120_000;
    while (!(await fetch(`${base}/api/health`).then((r) => r.ok, () => false))) {
      if (child.exitCode !== null) throw new Error(`recon serve exited: ${errors}`);
      if (Date.now() > deadline) throw new Error(`recon serve did not start: ${errors}`);
      await sleep(100);
    }
    lastStart = Date.now();
  };
  const stopChild = async (signal: NodeJS.Signals) => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode) return;
    stopping = true;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill(signal);
    await exited;
    stopping = false;
  };

  /** An API call that waits out the server being down (up to 5 min: a restart on a loaded machine can take minutes); undefined when the response was lost. */
  const call = async (path: string, init: RequestInit = {}, attempts = 1200): Promise<{ status: number; body: any } | undefined> => {
    for (let i = 0; i < attempts; i++) {
      try {
        const response = await fetch(`${base}${path}`, init);
        const text = await response.text();
        return { status: response.status, body: text ? JSON.parse(text) : undefined };
      } catch (error) {
        // Refused: the request never reached a server, so it is safe to send again once one is up.
        const refused = (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
        if (!refused && init.method && init.method !== 'GET') return undefined;
        await sleep(250);
      }
    }
    throw new Error(`${path}: the server stayed unreachable`);
  };
  const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  const ledger = new Set<string>();
  const image = await makeImage(1, 'jpeg', 16);

  /** One run from creation to processing, retrying each step across restarts. */
  const submit = async (n: number) => {
    const failWith = FAILURES[Math.floor(rand() * FAILURES.length)]!;
    report.faults[failWith] = (report.faults[failWith] ?? 0) + 1;
    const settings = { steps: 2 + Math.floor(rand() * 4), stepMs: 10 + Math.floor(rand() * 40), failWith, failAttempts: 1 + Math.floor(rand() * 3) };
    let created: { status: number; body: any } | undefined;
    while (!created) {
      created = await call('/api/runs', json({ engine: 'test', settings, webhookUrl: receiver.url(`/hook/${n}`) }));
      // The server died before answering: the run may exist, as a draft nobody uploads to.
      if (!created) {
        report.lostResponses++;
        await sleep(250);
      }
    }
    if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
    const runId = created.body.runId as string;
    ledger.add(runId);
    for (;; await sleep(100)) {
      const uploaded = await call(`/api/runs/${runId}/images`, { method: 'POST', body: multipart([{ name: 'a.jpg', data: image }]) });
      if (uploaded && (uploaded.status === 200 || uploaded.status === 409)) break;
      if (uploaded && uploaded.status !== 200) throw new Error(`upload: ${uploaded.status} ${JSON.stringify(uploaded.body)}`);
    }
    for (;; await sleep(100)) {
      const processed = await call(`/api/runs/${runId}/process`, { method: 'POST' });
      if (processed && [200, 202, 409].includes(processed.status)) break;
      if (processed) throw new Error(`process: ${processed.status} ${JSON.stringify(processed.body)}`);
    }
    if (rand() < 0.08) {
      await sleep(rand() * 200);
      const canceled = await call(`/api/runs/${runId}/cancel`, { method: 'POST' });
      if (canceled && canceled.status < 300) report.cancels++;
    }
    return runId;
  };

  // Kills and restarts one at a time, whoever asks (the killer, or a server that died by itself).
  let lifecycle: Promise<void> = Promise.resolve();
  const restart = () => {
    lifecycle = lifecycle.then(async () => {
      await stopChild('SIGKILL');
      await start();
    });
    return lifecycle;
  };
  await start();
  let killing = options.killEveryMs > 0;
  const killer = (async () => {
    while (killing) {
      await sleep(options.killEveryMs * (0.5 + rand()));
      if (!killing) break;
      report.kills++;
      log(`kill -9 #${report.kills} (${ledger.size} runs so far)`);
      await restart();
    }
  })();

  let next = 0;
  const finished: string[] = [];
  const clients = Array.from({ length: options.clients ?? 8 }, async () => {
    while (next < options.runs) {
      const n = next++;
      if (finished.length && rand() < 0.08) {
        const source = finished[Math.floor(rand() * finished.length)]!;
        const rerun = await call(`/api/runs/${source}/rerun`, json({}));
        // The server died before answering: the rerun may exist, queued, with nobody knowing its id.
        if (!rerun) report.lostReruns++;
        if (rerun && rerun.status < 300) {
          ledger.add(rerun.body.runId);
          report.reruns++;
          continue;
        }
      }
      const runId = await submit(n);
      finished.push(runId);
      if (n % 100 === 99) log(`${n + 1} runs submitted`);
    }
  });
  await Promise.all(clients);
  killing = false;
  await killer;
  if (options.killEveryMs > 0 && report.kills === 0) {
    // Submitting outran the first kill (a fast store, a short soak): the runs still going meet one.
    report.kills++;
    log('kill -9 #1 (after the last submission)');
    await restart();
  }
  await lifecycle;

  // Every run reaches a final status. Submitting can outrun the workers, leaving a backlog that
  // drains for minutes: a run is stuck only when no run has ended for STUCK_AFTER_MS.
  const STUCK_AFTER_MS = 120_000;
  const giveUpAt = Date.now() + 30 * 60_000;
  let lastEndAt = Date.now();
  let pending = [...ledger];
  while (pending.length && Date.now() - lastEndAt < STUCK_AFTER_MS && Date.now() < giveUpAt) {
    const still: string[] = [];
    for (const runId of pending) {
      const run = await call(`/api/runs/${runId}`);
      if (!run || !FINAL.has(run.body.status)) still.push(runId);
    }
    if (still.length < pending.length) lastEndAt = Date.now();
    pending = still;
    if (pending.length) await sleep(1000);
  }
  for (const runId of pending) report.problems.push(`run ${runId} is stuck: ${JSON.stringify((await call(`/api/runs/${runId}`))?.body?.status)}`);
  // Webhooks: every event delivered (deliveries all succeed once the receiver lets them through).
  const deliveriesBy = Date.now() + 120_000;
  const metricsText = async () => (await fetch(`${base}/metrics`).then((r) => r.text(), () => '')) ?? '';
  let metrics = await metricsText();
  while (Date.now() < deliveriesBy) {
    const pendingDeliveries = await call('/api/webhooks/deliveries?status=pending&limit=1');
    if (!pendingDeliveries?.body?.deliveries?.length) break;
    await sleep(500);
  }
  metrics = await metricsText();
  const lastProcessStart = lastStart;
  await stopChild('SIGTERM');
  if (child?.exitCode !== 0) report.problems.push(`the server did not shut down cleanly on SIGTERM (exit ${child?.exitCode ?? child?.signalCode})`);

  // The database, read directly with the server stopped.
  const store = await openStore(loadConfig({ RECON_DATA_DIR: dataDir, ...(databaseUrl && { DATABASE_URL: databaseUrl }) }));
  try {
    const db = store.db;
    const runs = (await sql<{ id: string; status: string; parent_run_id: string | null }>`select id, status, parent_run_id from runs`.execute(db)).rows;
    const lastEvents = (
      await sql<{ run_id: string; status: string }>`
        select distinct on (run_id) run_id, data->>'status' as status from run_events
        where type = 'status' order by run_id, id desc`.execute(db)
    ).rows;
    const eventStatus = new Map(lastEvents.map((e) => [e.run_id, e.status]));
    const known = new Set(runs.map((r) => r.id));
    let unknownReruns = 0;
    for (const run of runs) {
      if (!ledger.has(run.id) && run.parent_run_id && ledger.has(run.parent_run_id)) {
        // A rerun whose answer was lost: queued at once, so it must have ended like any other run.
        unknownReruns++;
        if (!['completed', 'failed', 'canceled'].includes(run.status)) report.problems.push(`rerun ${run.id} (answer lost) is stuck ${run.status}`);
        continue;
      }
      if (!ledger.has(run.id)) {
        // A create whose answer was lost: a draft with no images, never processed.
        if (run.status !== 'queued' && run.status !== 'uploading') report.problems.push(`run ${run.id} is not ours but ${run.status}`);
        continue;
      }
      report.byStatus[run.status] = (report.byStatus[run.status] ?? 0) + 1;
      if (eventStatus.get(run.id) !== run.status) report.problems.push(`run ${run.id} is ${run.status} but its event log ends at ${eventStatus.get(run.id)}`);
    }
    report.runs = ledger.size;
    if (unknownReruns > report.lostReruns) report.problems.push(`${unknownReruns} reruns nobody asked for (only ${report.lostReruns} rerun answers were lost)`);
    const drafts = runs.filter((r) => !ledger.has(r.id)).length - unknownReruns;
    if (drafts > report.lostResponses) report.problems.push(`${drafts} runs nobody asked for (only ${report.lostResponses} answers were lost)`);
    for (const runId of ledger) if (!known.has(runId)) report.problems.push(`run ${runId} was lost`);

    // The metrics of the last process count the final statuses reached since it started.
    const since = new Date(lastProcessStart - 1000).toISOString();
    const finals = (
      await sql<{ status: string; n: number }>`
        select data->>'status' as status, count(*)::int as n from run_events
        where type = 'status' and data->>'status' in ('completed', 'failed', 'canceled') and at >= ${since}::timestamptz
        group by 1`.execute(db)
    ).rows;
    for (const { status, n } of finals) {
      const counted = [...metrics.matchAll(new RegExp(`^recon_runs_total\\{[^}]*status="${status}"[^}]*\\} (\\d+)`, 'gm'))].reduce((s, m) => s + Number(m[1]), 0);
      if (counted !== n) report.problems.push(`/metrics counts ${counted} ${status} runs since the last start; the event log ${n}`);
    }

    // Webhooks: each delivery row succeeded, and the receiver saw each event id answered 2xx.
    const deliveries = (await sql<{ id: string; status: string; run_id: string | null }>`select id, status, run_id from webhook_deliveries`.execute(db)).rows;
    report.webhookEvents = deliveries.length;
    for (const d of deliveries) if (d.status !== 'succeeded') report.problems.push(`webhook delivery ${d.id} is ${d.status}`);
    const accepted = new Map<string, number>();
    for (const r of receiver.received) {
      report.webhookAttempts++;
      if (r.answered >= 300) report.webhookRefusals++;
      else accepted.set(String(r.headers['webhook-id']), (accepted.get(String(r.headers['webhook-id'])) ?? 0) + 1);
    }
    for (const d of deliveries) if (!accepted.has(d.id)) report.problems.push(`webhook ${d.id} was never accepted by the receiver`);
    report.webhookDuplicates = [...accepted.values()].filter((n) => n > 1).length;
    // A kill can cut short every attempt in flight whose receiver had answered: at-least-once.
    if (report.webhookDuplicates > report.kills * DELIVERY_CONCURRENCY) {
      report.problems.push(`${report.webhookDuplicates} webhook events delivered twice, more than the ${report.kills} kills explain (${DELIVERY_CONCURRENCY} attempts in flight each)`);
    }
    for (const runId of ledger) {
      if (!deliveries.some((d) => d.run_id === runId)) report.problems.push(`run ${runId} sent no webhook`);
    }

    // No orphans: folders only for runs that exist, files for every stored image, no scratch left.
    const folders = await readdir(join(dataDir, 'runs')).catch(() => [] as string[]);
    for (const folder of folders) if (!known.has(folder)) report.problems.push(`orphan folder runs/${folder}`);
    const images = (await sql<{ run_id: string; name: string }>`select run_id, name from run_images`.execute(db)).rows;
    for (const image of images) {
      const files = await readdir(join(dataDir, 'runs', image.run_id, 'images')).catch(() => [] as string[]);
      if (!files.includes(image.name)) report.problems.push(`run_images row ${image.run_id}/${image.name} has no file`);
    }
    for (const scratch of ['tmp', 'work']) {
      // Empty folders (the staging folder) may stay; a file the last process left there is a leak.
      const entries = await readdir(join(dataDir, scratch), { recursive: true, withFileTypes: true }).catch(() => []);
      const left: string[] = [];
      for (const entry of entries.filter((e) => !e.isDirectory())) {
        const { mtimeMs } = await stat(join(entry.parentPath, entry.name));
        if (scratch === 'tmp' && store.kind === 'postgres' && mtimeMs < lastProcessStart) report.crashLeftovers++;
        else left.push(entry.name);
      }
      if (left.length) report.problems.push(`${scratch}/ still holds ${left.length} files after a clean shutdown: ${left.slice(0, 5).join(', ')}`);
    }
  } finally {
    await store.close();
    await receiver.close();
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  report.seconds = Math.round((Date.now() - started) / 1000);
  return report;
}
