import { mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store.ts';
import type { RunEventHub } from '../core/run-event-hub.ts';
import { isTerminal } from '../domain/run-status.ts';
import type { RunExecution, RunLease } from '../core/run-execution.ts';
import type { RunsRepository } from '../db/runs-repository.ts';
import type { PostProcessor } from '../postprocess/post-processor.ts';
import type { RunRow, RunStageRow } from '../db/schema.ts';
import { ARTIFACT_FILES, type ArtifactKind } from '../domain/artifacts.ts';
import { type Engine, type EngineContext, EngineError } from '../engines/engine.ts';
import type { EngineRegistry } from '../engines/registry.ts';
import { type RunJob, type RunQueue, runJobKey } from '../queue/run-queue.ts';
import { RunCanceled, RunTimeLimit, WorkerShutdown } from './abort-reasons.ts';
import { RunInputs } from './run-inputs.ts';
import { retryDelayMs } from './retry-policy.ts';

export interface WorkerOptions {
  workRoot: string;
  concurrency: number;
  maxAttempts: number;
  retry: { baseMs: number; maxMs: number };
  maxRunSeconds: number;
  /** What an hour of this process costs: each stage it runs is charged its seconds at this rate. */
  costPerHour: number;
  /** Take jobs only for these engines (a split deployment: COLMAP here, training on the GPU box); unset = all. */
  engines?: string[];
}

interface ActiveRun {
  runId: string;
  controller: AbortController;
  settled: Promise<void>;
}

/** Takes run jobs from the queue, runs the engine, and records the outcome through core/. */
export class RunWorker {
  readonly #queue: RunQueue;
  readonly #execution: RunExecution;
  readonly #runs: RunsRepository;
  readonly #engines: EngineRegistry;
  readonly #blobs: BlobStore;
  readonly #hub: RunEventHub;
  readonly #log: Logger;
  readonly #options: WorkerOptions;
  readonly #postProcessor: Pick<PostProcessor, 'inputs' | 'outputs'> | undefined;
  readonly #name: string;
  readonly #onActiveChange: () => void;
  /** By run id and attempt: a run taken again by this same process is a second, separate hold. */
  readonly #active = new Map<string, ActiveRun>();
  readonly #taking: string[] = [];
  readonly #inputs: RunInputs;
  #stopping = false;

  constructor(deps: {
    queue: RunQueue;
    execution: RunExecution;
    runs: RunsRepository;
    engines: EngineRegistry;
    blobs: BlobStore;
    hub: RunEventHub;
    log: Logger;
    options: WorkerOptions;
    /** Preview, thumbnails, GLB metadata and compression after a successful engine run; never fails it. */
    postProcessor?: Pick<PostProcessor, 'inputs' | 'outputs'>;
    /** Recorded in every run this worker takes. */
    name: string;
    /** Called when a run is taken or let go (the worker's heartbeat tells the others). */
    onActiveChange?: () => void;
  }) {
    this.#queue = deps.queue;
    this.#execution = deps.execution;
    this.#runs = deps.runs;
    this.#engines = deps.engines;
    this.#blobs = deps.blobs;
    this.#hub = deps.hub;
    this.#log = deps.log;
    this.#options = deps.options;
    this.#postProcessor = deps.postProcessor;
    this.#name = deps.name;
    this.#onActiveChange = deps.onActiveChange ?? (() => {});
    this.#inputs = new RunInputs({ runs: deps.runs, blobs: deps.blobs });
  }

  /** The engines this worker takes runs for (known once started). */
  engines(): string[] {
    return [...this.#taking];
  }

  /** The runs this worker holds right now. */
  running(): string[] {
    return [...new Set([...this.#active.values()].map((run) => run.runId))];
  }

  /**
   * Takes jobs for every engine — or, with `onlyAvailable` (processes sharing a Postgres queue),
   * only for the engines this machine can run, so a GPU worker gets the GPU runs and a server
   * without weights leaves them in the queue rather than failing them.
   */
  async start(options: { onlyAvailable?: boolean } = {}): Promise<void> {
    for (const engine of this.#engines.list()) {
      if (this.#options.engines && !this.#options.engines.includes(engine.id)) continue;
      if (options.onlyAvailable) {
        const check = await engine.check().catch((error: Error) => ({ ok: false, reason: error.message }));
        if (!check.ok) {
          this.#log.info({ engine: engine.id, reason: check.reason }, 'not taking runs for this engine here');
          continue;
        }
      }
      const concurrency = Math.min(this.#options.concurrency, engine.concurrency ?? Number.POSITIVE_INFINITY);
      await this.#queue.work(engine.id, concurrency, (job) => this.handle(job));
      this.#taking.push(engine.id);
    }
  }

  /** Puts back every run this worker holds, so another worker (or the next start) picks it up. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#queue.stopWorking(this.#engines.list().map((engine) => engine.id));
    const active = [...this.#active.values()];
    for (const run of active) run.controller.abort(new WorkerShutdown());
    await Promise.all(active.map((run) => run.settled));
  }

  /**
   * Work folders left by attempts a killed process never finished, for runs that have ended since
   * (elsewhere, or as failed): nothing will come back for them. A run still going keeps its own.
   */
  async removeStaleWork(): Promise<void> {
    const root = this.#options.workRoot;
    for (const runId of await readdir(root).catch(() => [] as string[])) {
      const row = await this.#runs.find(runId);
      if (!row || isTerminal(row.status)) await rm(join(root, runId), { recursive: true, force: true });
    }
  }

  /**
   * After a crash of the single embedded process: every run it was working on goes back in the
   * queue. A run whose job is still waiting there is left alone — re-queueing it on every restart
   * would pile up stale jobs that crowd out the live ones.
   */
  async recoverInterrupted(): Promise<number> {
    const waiting = await this.#queue.waitingJobs();
    let recovered = 0;
    for (const row of await this.#runs.findInterrupted()) {
      const lease = { runId: row.id, token: row.job_token ?? '', attempt: row.attempt };
      if (waiting.has(runJobKey(lease))) continue;
      const where = row.stage === 'waiting' ? 'waiting in the queue' : `at stage "${row.stage}"`;
      await this.#execution.requeue(lease, `server restarted while the run was ${where}; re-queued`, { crashed: true });
      recovered++;
    }
    return recovered;
  }

  async handle(job: RunJob): Promise<void> {
    // Failing the job (rather than dropping it) makes pg-boss hand it to a worker that stays.
    if (this.#stopping) throw new WorkerShutdown();
    const claimed = await this.#execution.claim(job, { name: this.#name, costPerHour: this.#options.costPerHour }, (engineId) => this.#outputsOf(engineId));
    if (!claimed) return;
    const { row, lease, stage } = claimed;
    const controller = new AbortController();
    let settle!: () => void;
    const key = `${row.id}#${row.attempt}`;
    this.#active.set(key, { runId: row.id, controller, settled: new Promise((resolve) => (settle = resolve)) });
    this.#onActiveChange();
    const stopWatching = this.#hub.watch(row.id, (signal) => {
      if (signal.type !== 'status') return;
      this.#execution.holds(lease).then(
        (held) => held || controller.abort(new RunCanceled()),
        (error) => this.#log.warn({ err: error, runId: row.id }, 'could not check run state'),
      );
    });
    const timer = setTimeout(
      () => controller.abort(new RunTimeLimit(this.#options.maxRunSeconds)),
      this.#options.maxRunSeconds * 1000,
    );
    const workDir = join(this.#options.workRoot, row.id, `${stage.position}-${stage.name}`, `attempt-${row.attempt}`);
    try {
      await this.execute(row, stage, lease, controller.signal, workDir);
    } finally {
      clearTimeout(timer);
      stopWatching();
      this.#active.delete(key);
      this.#onActiveChange();
      await this.removeWork(row.id, workDir);
      await this.removeWorkOfEndedRun(row.id);
      settle();
    }
  }

  private async execute(row: RunRow, stage: RunStageRow, lease: RunLease, signal: AbortSignal, workDir: string) {
    const log = this.#log.child({ runId: row.id, stage: stage.name, engine: stage.engine, attempt: row.attempt });
    const reporter = this.#execution.reporter(lease, (error) => log.warn({ err: error }, 'could not record progress'));
    if (!this.#engines.has(stage.engine)) {
      await this.#execution.fail(lease, `Engine "${stage.engine}" is not available on this worker`);
      return;
    }
    const engine = this.#engines.get(stage.engine);
    let failure: { error: unknown } | undefined;
    try {
      await mkdir(workDir, { recursive: true });
      const context = await this.context(row, stage, engine, lease, signal, workDir, reporter);
      log.info('engine started');
      // Thumbnails need only the inputs: made by the first stage while its engine runs (COLMAP's mapper leaves a core idle).
      const thumbnails = stage.position === 0 ? this.#postProcessor?.inputs(context, log) : undefined;
      try {
        await engine.run(context);
      } finally {
        await thumbnails;
      }
      signal.throwIfAborted();
      if (engine.produces.includes('glb')) await this.#postProcessor?.outputs(context, lease, log);
    } catch (error) {
      failure = { error };
    }
    await reporter.flush();
    // Before the outcome is recorded: that queues the next stage or attempt, which may start here at once.
    await this.removeWork(row.id, workDir);
    if (!failure) {
      try {
        await this.#execution.complete(lease);
        log.info('stage completed');
        return;
      } catch (error) {
        failure = { error };
      }
    }
    await this.settleFailure(row, stage, lease, signal, failure.error);
    log.info({ reason: signal.aborted ? String(signal.reason) : String(failure.error) }, 'stage ended without success');
  }

  /**
   * Once the run has ended nothing will come back for its folder, which may still hold attempts a
   * killed process never finished (re-queued, then finished by this one).
   */
  private async removeWorkOfEndedRun(runId: string) {
    // Unreadable (the database is away): left for removeStaleWork at the next start.
    const row = await this.#runs.find(runId).catch(() => 'unknown' as const);
    if (row === 'unknown') return;
    if (!row || isTerminal(row.status)) await rm(join(this.#options.workRoot, runId), { recursive: true, force: true });
  }

  /** This attempt's folder, then its stage's and its run's folders if nothing else is in them. */
  private async removeWork(runId: string, workDir: string) {
    await rm(workDir, { recursive: true, force: true });
    const runDir = join(this.#options.workRoot, runId);
    for (const dir of [dirname(workDir), runDir]) {
      await rmdir(dir).catch(() => {}); // not empty: another attempt or stage of the run is working there
    }
  }

  private async settleFailure(row: RunRow, stage: RunStageRow, lease: RunLease, signal: AbortSignal, error: unknown) {
    if (signal.aborted) {
      const reason = signal.reason;
      if (reason instanceof WorkerShutdown) await this.#execution.requeue(lease, 'worker shut down mid-run; re-queued');
      else if (reason instanceof RunTimeLimit) {
        await this.#execution.fail(lease, reason.message, 'Split the photos into smaller runs, or raise RECON_MAX_RUN_SECONDS');
      }
      // RunCanceled: the run is already canceled; nothing more to record.
      return;
    }
    if (error instanceof EngineError && error.transient && row.attempt < this.#options.maxAttempts) {
      const delay = retryDelayMs(row.attempt, this.#options.retry, error.retryAfterMs);
      await this.#execution.retry(lease, error.message, delay, row.attempt + 1);
      return;
    }
    if (error instanceof EngineError) {
      const suffix = error.transient ? ` (gave up after ${row.attempt} attempts)` : '';
      await this.#execution.fail(lease, `${error.message}${suffix}`, error.hint);
      return;
    }
    this.#log.error({ err: error, runId: row.id, engine: stage.engine }, 'engine crashed');
    await this.#execution.fail(lease, `Engine "${stage.engine}" crashed: ${(error as Error)?.message ?? String(error)}`);
  }

  private async context(
    row: RunRow,
    stage: RunStageRow,
    engine: Engine,
    lease: RunLease,
    signal: AbortSignal,
    workDir: string,
    reporter: ReturnType<RunExecution['reporter']>,
  ): Promise<EngineContext<unknown>> {
    const report = { progress: (step: string, fraction: number, message: string) => reporter.progress(step, fraction, message), log: (line: string) => reporter.log(line) };
    const inputs = await this.#inputs.local(row.id, stage.settings, workDir, report, signal);
    return {
      runId: row.id,
      attempt: row.attempt,
      inputs,
      settings: engine.settings.parse(stage.settings),
      workDir,
      signal,
      artifacts: await this.earlierArtifacts(row, engine, join(workDir, 'artifacts')),
      checkpoint: {
        load: () => this.#execution.loadCheckpoint(lease, join(workDir, 'checkpoint')),
        save: (file) => this.#execution.saveCheckpoint(lease, file),
      },
      progress: (step, fraction, message, details) => reporter.progress(step, fraction, message, details),
      log: (line) => reporter.log(line),
      summarize: async (summary) => {
        await reporter.flush();
        await this.#execution.summarize(lease, summary);
      },
      putArtifact: (kind, file) => this.#execution.putArtifact(lease, kind, file),
      markUnavailable: (kind, reason) => this.#execution.markUnavailable(lease, kind, reason),
    };
  }

  /** What a stage of this engine makes, which an attempt at it starts without (the post-processing of a scene included). */
  #outputsOf(engineId: string): ArtifactKind[] {
    if (!this.#engines.has(engineId)) return [];
    const produces = this.#engines.get(engineId).produces;
    return produces.includes('glb') ? [...produces, 'preview', 'glb-compressed'] : [...produces];
  }

  /** Local copies of what earlier stages stored that this engine reads (through the blob store, never a shared disk). */
  private async earlierArtifacts(row: RunRow, engine: Engine, scratchDir: string): Promise<Partial<Record<ArtifactKind, string>>> {
    const kinds = (engine.consumes ?? []).filter((kind) => row.artifacts.available[kind]);
    const paths = await Promise.all(kinds.map((kind) => this.#blobs.localPath(row.id, ARTIFACT_FILES[kind], scratchDir)));
    return Object.fromEntries(kinds.map((kind, i) => [kind, paths[i]]));
  }
}
