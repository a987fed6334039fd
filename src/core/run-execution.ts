import type { Transaction } from 'kysely';
import type { BlobStore } from '../blobs/blob-store.ts';
import type { RunEventsRepository } from '../db/run-events-repository.ts';
import type { RunsRepository } from '../db/runs-repository.ts';
import type { RunStagesRepository } from '../db/run-stages-repository.ts';
import type { Database, RunRow, RunStageRow } from '../db/schema.ts';
import { ARTIFACT_FILES, ARTIFACT_KINDS, type ArtifactKind, type Artifacts, checkpointKey } from '../domain/artifacts.ts';
import type { StageSummary } from '../domain/run-stage.ts';
import { ACTIVE_STATUSES, type RunStatus } from '../domain/run-status.ts';
import type { GlbMetadata } from '../domain/artifacts.ts';
import type { RunsService } from './runs-service.ts';

/**
 * A worker's hold on one run: valid while the run still carries the job's token and this attempt.
 * A job taken again (its worker stopped beating) keeps its token but starts a new attempt, so the
 * worker that lost it can no longer write anything — not a row, not an artifact.
 */
export interface RunLease {
  runId: string;
  token: string;
  /** Set once the run is claimed: the attempt this worker is making. */
  attempt?: number;
  /** The stage the job is for, once claimed. */
  stage?: { position: number; name: string; count: number };
}

/** Who is working: recorded on the stage, with the hourly rate its time is charged at. */
export interface WorkerIdentity {
  name: string;
  costPerHour: number;
}

/** What a claimed job runs: the run, and its stage with the engine and settings to use. */
export interface ClaimedJob {
  row: RunRow;
  /** What the worker writes with: the token, this attempt and the stage. */
  lease: RunLease;
  stage: RunStageRow;
  /** How many stages the run has. */
  stageCount: number;
}

/** Statuses a worker's run can be in: an engine's `uploading` stage (to a remote service) included. */
const LEASED_STATUSES: readonly RunStatus[] = [...ACTIVE_STATUSES, 'uploading'];

const PROGRESS_INTERVAL_MS = 250;

/** `artifacts` without the given kinds (and scene.glb's metadata when the scene goes). */
function withoutKinds(artifacts: Artifacts, kinds: readonly ArtifactKind[]): Artifacts {
  const drop = new Set<string>(kinds);
  const keep = (record: Record<string, unknown>) => Object.fromEntries(Object.entries(record).filter(([kind]) => !drop.has(kind)));
  return {
    available: keep(artifacts.available) as Artifacts['available'],
    unavailable: keep(artifacts.unavailable) as Artifacts['unavailable'],
    ...(artifacts.glbMetadata && !drop.has('glb') && { glbMetadata: artifacts.glbMetadata }),
  };
}

/** Event data naming the run's stage the lease is for. */
const stageOf = (lease: RunLease) => (lease.stage ? { pipelineStage: lease.stage.name } : {});
const LOG_FLUSH_MS = 500;
const LOG_BATCH_LINES = 200;

/**
 * The worker's side of the run lifecycle. Every write checks the lease, so a run canceled,
 * re-queued or taken over meanwhile is never overwritten by a stale worker.
 */
export class RunExecution {
  readonly #runs: RunsRepository;
  readonly #stages: RunStagesRepository;
  readonly #events: RunEventsRepository;
  readonly #blobs: BlobStore;
  readonly #service: RunsService;

  constructor(deps: { runs: RunsRepository; stages: RunStagesRepository; events: RunEventsRepository; blobs: BlobStore; service: RunsService }) {
    this.#runs = deps.runs;
    this.#stages = deps.stages;
    this.#events = deps.events;
    this.#blobs = deps.blobs;
    this.#service = deps.service;
  }

  /**
   * Takes the run's current stage for this job as a new attempt by `worker`, or returns undefined
   * when the job is stale. The attempt starts without what this stage makes (`outputsOf` its
   * engine): an earlier attempt's outputs are not served, the earlier stages' stay.
   */
  async claim(job: RunLease, worker: WorkerIdentity, outputsOf: (engine: string) => readonly ArtifactKind[] = () => ARTIFACT_KINDS): Promise<ClaimedJob | undefined> {
    const claimed = await this.withLease({ runId: job.runId, token: job.token }, async (row, trx) => {
      const stages = await this.#stages.forRun(row.id, trx);
      const stage = stages.find((s) => s.status === 'waiting' || s.status === 'running');
      if (!stage) return undefined;
      // An attempt still open was cut short by a worker that vanished: it ended at the run's last sign of life.
      await this.#stages.closeAttempt(row.id, stage.position, trx, row.updated_at);
      const attempt = row.attempt + 1;
      const artifacts = withoutKinds(row.artifacts, outputsOf(stage.engine));
      const now = new Date();
      await this.#stages.update(
        row.id,
        stage.position,
        { status: 'running', attempt, worker: worker.name, cost_per_hour: worker.costPerHour, started_at: stage.started_at ?? now, attempt_started_at: now, message: 'starting', error: null, error_hint: null },
        trx,
      );
      await this.#events.append(row.id, 'stage', { pipelineStage: stage.name, position: stage.position, engine: stage.engine, status: 'running', attempt, worker: worker.name }, trx);
      await this.#service.setStatus(
        row,
        {
          status: 'processing',
          stage: 'starting',
          message: attempt > 1 ? `attempt ${attempt} on ${worker.name}` : `starting on ${worker.name}`,
          attempt,
          worker: worker.name,
          artifacts: JSON.stringify(artifacts),
          started_at: row.started_at ?? new Date(),
          error: null,
          error_hint: null,
        },
        trx,
      );
      const lease: RunLease = { runId: job.runId, token: job.token, attempt, stage: { position: stage.position, name: stage.name, count: stages.length } };
      return { row: { ...row, attempt, worker: worker.name, artifacts }, lease, stage: { ...stage, attempt, status: 'running' as const }, stageCount: stages.length };
    });
    if (claimed) await this.#service.afterChange(job.runId);
    return claimed;
  }

  /** Is the lease still this worker's? (false once the run was canceled or re-queued) */
  async holds(lease: RunLease): Promise<boolean> {
    const row = await this.#runs.find(lease.runId);
    return !!row && held(row, lease);
  }

  reporter(lease: RunLease, onError: (error: unknown) => void) {
    return new ProgressReporter(lease, this, onError);
  }

  /**
   * The engine's progress within its stage; the run's progress counts the stages before it. Events
   * name the run's stage (`pipelineStage`) beside the engine's own step (`stage`).
   */
  async recordProgress(lease: RunLease, stage: string, fraction: number, message: string | undefined, details?: Record<string, unknown>) {
    const status: RunStatus = stage === 'uploading' ? 'uploading' : stage === 'fetching' ? 'fetching' : 'processing';
    const at = lease.stage ?? { position: 0, name: '', count: 1 };
    const statusChanged = await this.withLease(lease, async (row, trx) => {
      const stageProgress = Math.min(1, Math.max(0, fraction));
      const progress = (at.position + stageProgress) / at.count;
      await this.#stages.update(row.id, at.position, { progress: stageProgress, message: message ?? null, ...(details && { details: JSON.stringify(details) }) }, trx);
      const extra = { pipelineStage: at.name, stageProgress, ...(details && { details }) };
      if (status !== row.status || stage !== row.stage) {
        await this.#service.setStatus(row, { status, stage, progress, message: message ?? null }, trx, extra);
      } else {
        await this.#runs.update(row.id, { progress, message: message ?? row.message }, trx);
        await this.#events.append(row.id, 'progress', { stage, progress, message: message ?? null, ...extra }, trx);
      }
      return status !== row.status;
    });
    if (statusChanged) await this.#service.afterChange(lease.runId);
  }

  async recordLogs(lease: RunLease, lines: string[]) {
    await this.#events.append(lease.runId, 'log', { lines, ...stageOf(lease) });
  }

  /** What the stage made, in a few numbers (shown with the stage in the run view). */
  async summarize(lease: RunLease, summary: StageSummary) {
    await this.withLease(lease, async (row, trx) => {
      await this.#stages.update(row.id, lease.stage?.position ?? 0, { summary: JSON.stringify(summary) }, trx);
      // The event also tells every process's run-view cache that the run changed.
      await this.#events.append(row.id, 'log', { lines: [`stage "${lease.stage?.name ?? row.engine}" recorded its summary`] }, trx);
    });
    await this.#service.afterChange(lease.runId);
  }

  /** Stores the stage's checkpoint while the lease holds (a stale worker's save is dropped). */
  async saveCheckpoint(lease: RunLease, file: string) {
    if (!(await this.holds(lease))) throw new Error('the run is no longer this worker\'s; checkpoint not saved');
    await this.#blobs.putFile(lease.runId, this.#checkpointKey(lease), file);
  }

  /** The stage's last checkpoint as a local file (under `scratchDir` for remote stores), or undefined. */
  async loadCheckpoint(lease: RunLease, scratchDir: string): Promise<string | undefined> {
    const key = this.#checkpointKey(lease);
    if (!(await this.#blobs.stat(lease.runId, key))) return undefined;
    return this.#blobs.localPath(lease.runId, key, scratchDir);
  }

  #checkpointKey(lease: RunLease) {
    const stage = lease.stage ?? { position: 0, name: 'run' };
    return checkpointKey(stage.position, stage.name);
  }

  /**
   * Stores an artifact: its bytes are staged first, then put in place and recorded in one step
   * under the run's lock, only while the lease holds — a worker that lost the run never replaces
   * what the worker that has it stored.
   */
  async putArtifact(lease: RunLease, kind: ArtifactKind, file: string) {
    const staged = await this.#blobs.stageFile(file);
    try {
      const stored = await this.withLease(lease, async (row, trx) => {
        const info = await this.#blobs.putStaged(lease.runId, ARTIFACT_FILES[kind], staged);
        const artifacts = structuredClone(row.artifacts);
        artifacts.available[kind] = { bytes: info.bytes, etag: info.etag, updatedAt: new Date().toISOString() };
        delete artifacts.unavailable[kind];
        await this.#runs.update(row.id, { artifacts: JSON.stringify(artifacts) }, trx);
        await this.#events.append(row.id, 'log', { lines: [`artifact ${kind} stored (${info.bytes} bytes)`], ...stageOf(lease) }, trx);
        return true;
      });
      if (!stored) await this.#blobs.discard(staged);
    } catch (error) {
      await this.#blobs.discard(staged).catch(() => {});
      throw error;
    }
  }

  async markUnavailable(lease: RunLease, kind: ArtifactKind, reason: string) {
    await this.withLease(lease, async (row, trx) => {
      const artifacts = structuredClone(row.artifacts);
      artifacts.unavailable[kind] = reason;
      await this.#runs.update(row.id, { artifacts: JSON.stringify(artifacts) }, trx);
      await this.#events.append(row.id, 'log', { lines: [`artifact ${kind} unavailable: ${reason}`], ...stageOf(lease) }, trx);
    });
  }

  async recordGlbMetadata(lease: RunLease, metadata: GlbMetadata) {
    await this.withLease(lease, async (row, trx) => {
      const artifacts = { ...structuredClone(row.artifacts), glbMetadata: metadata };
      await this.#runs.update(row.id, { artifacts: JSON.stringify(artifacts) }, trx);
    });
  }

  /**
   * The stage succeeded: the next stage goes into its engine's queue (under a fresh token), or,
   * after the last, the run completes. The stage's checkpoint is no longer needed.
   */
  async complete(lease: RunLease) {
    const outcome = await this.withLease(lease, async (row, trx) => {
      const stage = await this.#endStage(row, trx, { status: 'completed', progress: 1, message: 'completed' });
      const next = await this.#stages.current(row.id, trx);
      if (stage && next) {
        await this.#runs.update(row.id, { attempt: 0 }, trx);
        await this.#service.queueForWork({ ...row, attempt: 0 }, trx, { message: `stage "${stage.name}" done; "${next.name}" is next` });
        return 'next';
      }
      await this.#service.setStatus(row, { status: 'completed', stage: null, progress: 1, message: 'completed', job_token: null, finished_at: new Date() }, trx);
      return 'completed';
    });
    if (outcome) {
      await this.#blobs.remove(lease.runId, this.#checkpointKey(lease)).catch(() => {});
      await this.#service.afterChange(lease.runId);
    }
    return !!outcome;
  }

  /** The stage failed, and with it the run; a run of several stages names the stage in its error. */
  async fail(lease: RunLease, error: string, hint?: string) {
    const done = await this.withLease(lease, async (row, trx) => {
      const stage = await this.#endStage(row, trx, { status: 'failed', message: 'failed', error, error_hint: hint ?? null });
      const named = stage && (lease.stage?.count ?? 1) > 1 ? `Stage "${stage.name}" failed: ${error}` : error;
      await this.#service.setStatus(row, { status: 'failed', stage: null, message: 'failed', error: named, error_hint: hint ?? null, job_token: null, finished_at: new Date() }, trx);
      return true;
    });
    if (done) await this.#service.afterChange(lease.runId);
    return !!done;
  }

  /** Closes the current stage's attempt and records how the stage ended, with a `stage` event. */
  async #endStage(row: RunRow, trx: Transaction<Database>, end: { status: 'completed' | 'failed'; progress?: number; message: string; error?: string; error_hint?: string | null }) {
    const stage = await this.#stages.current(row.id, trx);
    if (!stage) return undefined;
    await this.#stages.closeAttempt(row.id, stage.position, trx);
    await this.#stages.update(row.id, stage.position, { ...end, finished_at: new Date() }, trx);
    const [ended] = (await this.#stages.forRun(row.id, trx)).filter((s) => s.position === stage.position);
    await this.#events.append(
      row.id,
      'stage',
      { pipelineStage: stage.name, position: stage.position, engine: stage.engine, status: end.status, seconds: ended?.seconds, cost: ended?.cost, worker: ended?.worker, ...(end.error && { error: end.error }) },
      trx,
    );
    return stage;
  }

  /** Back into the queue after a transient failure, visibly, with the delay chosen by the worker. */
  async retry(lease: RunLease, error: string, delayMs: number, nextAttempt: number) {
    const done = await this.withLease(lease, async (row, trx) => {
      await this.#closeCurrentAttempt(row, trx);
      await this.#events.append(row.id, 'retry', { error, delayMs, nextAttempt, ...stageOf(lease) }, trx);
      await this.#service.queueForWork(row, trx, {
        message: `retrying in ${Math.round(delayMs / 1000)} s (attempt ${nextAttempt}) after: ${error}`,
        delayMs,
      });
      return true;
    });
    if (done) await this.#service.afterChange(lease.runId);
  }

  /**
   * Back into the queue because this process is going away (or came back after a crash: then the
   * attempt is taken to have ended at the run's last sign of life, not now).
   */
  async requeue(lease: RunLease, reason: string, options: { crashed?: boolean } = {}) {
    const done = await this.withLease(lease, async (row, trx) => {
      await this.#closeCurrentAttempt(row, trx, options.crashed ? row.updated_at : undefined);
      await this.#service.queueForWork(row, trx, { message: reason });
      return true;
    });
    if (done) await this.#service.afterChange(lease.runId);
  }

  async #closeCurrentAttempt(row: RunRow, trx: Transaction<Database>, end?: Date) {
    const stage = await this.#stages.current(row.id, trx);
    if (stage) await this.#stages.closeAttempt(row.id, stage.position, trx, end);
  }

  private async withLease<T>(lease: RunLease, work: (row: RunRow, trx: Transaction<Database>) => Promise<T>) {
    return this.#runs.transaction(async (trx) => {
      const row = await this.#runs.findForUpdate(lease.runId, trx);
      return row && held(row, lease) ? work(row, trx) : undefined;
    });
  }
}

function held(row: RunRow, lease: RunLease): boolean {
  return row.job_token === lease.token && (lease.attempt === undefined || row.attempt === lease.attempt) && LEASED_STATUSES.includes(row.status);
}

/**
 * Engines report progress and log lines far faster than anyone needs them stored: progress is
 * kept at most every 250 ms (stage changes at once) and log lines go out in batches.
 */
export class ProgressReporter {
  readonly #lease: RunLease;
  readonly #execution: RunExecution;
  readonly #onError: (error: unknown) => void;
  #lastStage: string | undefined;
  #lastProgressAt = 0;
  #pendingProgress: { stage: string; fraction: number; message: string | undefined; details: Record<string, unknown> | undefined } | undefined;
  #progressTimer: NodeJS.Timeout | undefined;
  #lines: string[] = [];
  #logTimer: NodeJS.Timeout | undefined;
  #chain: Promise<void> = Promise.resolve();

  constructor(lease: RunLease, execution: RunExecution, onError: (error: unknown) => void) {
    this.#lease = lease;
    this.#execution = execution;
    this.#onError = onError;
  }

  progress(stage: string, fraction: number, message?: string, details?: Record<string, unknown>) {
    // The last report of a stage is kept even when the next stage follows within the interval.
    if (this.#pendingProgress && this.#pendingProgress.stage !== stage) this.flushProgress();
    this.#pendingProgress = { stage, fraction, message, details };
    const due = this.#lastProgressAt + PROGRESS_INTERVAL_MS - Date.now();
    if (stage !== this.#lastStage || due <= 0) this.flushProgress();
    else this.#progressTimer ??= setTimeout(() => this.flushProgress(), due);
  }

  log(line: string) {
    this.#lines.push(line);
    if (this.#lines.length >= LOG_BATCH_LINES) this.flushLogs();
    else this.#logTimer ??= setTimeout(() => this.flushLogs(), LOG_FLUSH_MS);
  }

  /** Writes whatever is pending and waits for every write so far. */
  async flush() {
    this.flushLogs();
    this.flushProgress();
    await this.#chain;
  }

  private flushProgress() {
    clearTimeout(this.#progressTimer);
    this.#progressTimer = undefined;
    const pending = this.#pendingProgress;
    if (!pending) return;
    this.#pendingProgress = undefined;
    this.#lastStage = pending.stage;
    this.#lastProgressAt = Date.now();
    this.enqueue(() => this.#execution.recordProgress(this.#lease, pending.stage, pending.fraction, pending.message, pending.details));
  }

  private flushLogs() {
    clearTimeout(this.#logTimer);
    this.#logTimer = undefined;
    if (!this.#lines.length) return;
    const lines = this.#lines;
    this.#lines = [];
    this.enqueue(() => this.#execution.recordLogs(this.#lease, lines));
  }

  /** Writes happen one after another, in the order the engine reported them. */
  private enqueue(write: () => Promise<void>) {
    this.#chain = this.#chain.then(write).catch(this.#onError);
  }
}
