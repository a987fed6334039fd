import type { Transaction } from 'kysely';
import type { BlobStore } from '../blobs/blob-store.ts';
import type { RunEventsRepository } from '../db/run-events-repository.ts';
import type { RunsRepository } from '../db/runs-repository.ts';
import type { Database, RunRow } from '../db/schema.ts';
import { ARTIFACT_FILES, type ArtifactKind } from '../domain/artifacts.ts';
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
}

/** Statuses a worker's run can be in: an engine's `uploading` stage (to a remote service) included. */
const LEASED_STATUSES: readonly RunStatus[] = [...ACTIVE_STATUSES, 'uploading'];

const PROGRESS_INTERVAL_MS = 250;
const LOG_FLUSH_MS = 500;
const LOG_BATCH_LINES = 200;

/**
 * The worker's side of the run lifecycle. Every write checks the lease, so a run canceled,
 * re-queued or taken over meanwhile is never overwritten by a stale worker.
 */
export class RunExecution {
  readonly #runs: RunsRepository;
  readonly #events: RunEventsRepository;
  readonly #blobs: BlobStore;
  readonly #service: RunsService;

  constructor(deps: { runs: RunsRepository; events: RunEventsRepository; blobs: BlobStore; service: RunsService }) {
    this.#runs = deps.runs;
    this.#events = deps.events;
    this.#blobs = deps.blobs;
    this.#service = deps.service;
  }

  /**
   * Takes the run for this job as a new attempt by `worker`, or returns undefined when the job is
   * stale. The attempt starts with no artifacts: whatever an earlier attempt recorded is not served.
   */
  async claim(job: RunLease, worker: string): Promise<{ row: RunRow; lease: RunLease } | undefined> {
    const claimed = await this.withLease({ runId: job.runId, token: job.token }, async (row, trx) => {
      const attempt = row.attempt + 1;
      const artifacts = { available: {}, unavailable: {} };
      await this.#service.setStatus(
        row,
        {
          status: 'processing',
          stage: 'starting',
          message: attempt > 1 ? `attempt ${attempt} on ${worker}` : `starting on ${worker}`,
          attempt,
          worker,
          artifacts: JSON.stringify(artifacts),
          started_at: row.started_at ?? new Date(),
          error: null,
          error_hint: null,
        },
        trx,
      );
      return { row: { ...row, attempt, worker, artifacts }, lease: { runId: job.runId, token: job.token, attempt } };
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

  async recordProgress(lease: RunLease, stage: string, fraction: number, message: string | undefined) {
    const status: RunStatus = stage === 'uploading' ? 'uploading' : stage === 'fetching' ? 'fetching' : 'processing';
    const statusChanged = await this.withLease(lease, async (row, trx) => {
      const progress = Math.min(1, Math.max(0, fraction));
      if (status !== row.status || stage !== row.stage) {
        await this.#service.setStatus(row, { status, stage, progress, message: message ?? null }, trx);
      } else {
        await this.#runs.update(row.id, { progress, message: message ?? row.message }, trx);
        await this.#events.append(row.id, 'progress', { stage, progress, message: message ?? null }, trx);
      }
      return status !== row.status;
    });
    if (statusChanged) await this.#service.afterChange(lease.runId);
  }

  async recordLogs(lease: RunLease, lines: string[]) {
    await this.#events.append(lease.runId, 'log', { lines });
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
        await this.#events.append(row.id, 'log', { lines: [`artifact ${kind} stored (${info.bytes} bytes)`] }, trx);
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
      await this.#events.append(row.id, 'log', { lines: [`artifact ${kind} unavailable: ${reason}`] }, trx);
    });
  }

  async recordGlbMetadata(lease: RunLease, metadata: GlbMetadata) {
    await this.withLease(lease, async (row, trx) => {
      const artifacts = { ...structuredClone(row.artifacts), glbMetadata: metadata };
      await this.#runs.update(row.id, { artifacts: JSON.stringify(artifacts) }, trx);
    });
  }

  complete(lease: RunLease) {
    return this.finish(lease, { status: 'completed', stage: null, progress: 1, message: 'completed' });
  }

  fail(lease: RunLease, error: string, hint?: string) {
    return this.finish(lease, { status: 'failed', stage: null, message: 'failed', error, error_hint: hint ?? null });
  }

  /** Back into the queue after a transient failure, visibly, with the delay chosen by the worker. */
  async retry(lease: RunLease, error: string, delayMs: number, nextAttempt: number) {
    const done = await this.withLease(lease, async (row, trx) => {
      await this.#events.append(row.id, 'retry', { error, delayMs, nextAttempt }, trx);
      await this.#service.queueForWork(row, trx, {
        message: `retrying in ${Math.round(delayMs / 1000)} s (attempt ${nextAttempt}) after: ${error}`,
        delayMs,
      });
      return true;
    });
    if (done) await this.#service.afterChange(lease.runId);
  }

  /** Back into the queue because this process is going away (or came back after a crash). */
  async requeue(lease: RunLease, reason: string) {
    const done = await this.withLease(lease, async (row, trx) => {
      await this.#service.queueForWork(row, trx, { message: reason });
      return true;
    });
    if (done) await this.#service.afterChange(lease.runId);
  }

  private async finish(lease: RunLease, changes: Parameters<RunsService['setStatus']>[1]) {
    const done = await this.withLease(lease, async (row, trx) => {
      await this.#service.setStatus(row, { ...changes, job_token: null, finished_at: new Date() }, trx);
      return true;
    });
    if (done) await this.#service.afterChange(lease.runId);
    return !!done;
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
  #pendingProgress: { stage: string; fraction: number; message: string | undefined } | undefined;
  #progressTimer: NodeJS.Timeout | undefined;
  #lines: string[] = [];
  #logTimer: NodeJS.Timeout | undefined;
  #chain: Promise<void> = Promise.resolve();

  constructor(lease: RunLease, execution: RunExecution, onError: (error: unknown) => void) {
    this.#lease = lease;
    this.#execution = execution;
    this.#onError = onError;
  }

  progress(stage: string, fraction: number, message?: string) {
    // The last report of a stage is kept even when the next stage follows within the interval.
    if (this.#pendingProgress && this.#pendingProgress.stage !== stage) this.flushProgress();
    this.#pendingProgress = { stage, fraction, message };
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
    this.enqueue(() => this.#execution.recordProgress(this.#lease, pending.stage, pending.fraction, pending.message));
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
