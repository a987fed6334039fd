import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { BlueprintEventsRepository } from '../db/blueprint-events-repository.ts';
import type { BlueprintJobsRepository } from '../db/blueprint-jobs-repository.ts';
import type { BlueprintJobRow, BlueprintJobUpdate } from '../db/blueprint-tables.ts';
import type { Database } from '../db/schema.ts';
import { isActiveJob, type JobKind } from '../domain/blueprint-model.ts';
import { FalError, toFalError, webhookError } from '../engines/fal/fal-error.ts';
import type { FalGateway } from '../engines/fal/fal-gateway.ts';
import type { FalJobKind } from './fal-job-kind.ts';

/** A worker's hold on one job: valid while the job still carries the token its queue message had. */
export interface JobLease {
  jobId: string;
  token: string;
}

/** Where jobs wait for a worker: sent inside the transaction that makes them due. */
export interface FalJobQueue {
  enqueue(lease: JobLease, options?: { delayMs?: number; trx?: Transaction<Database> }): Promise<void>;
}

/** Tells a waiting job about its blueprint's events (a webhook arrived, a job was canceled), by type. */
export interface BlueprintSignals {
  watch(blueprintId: string, listener: (type: string) => void): () => void;
}

export interface FalJobRunnerOptions {
  /** Recon's public base URL; fal posts webhooks under it. Without it, jobs finish by polling alone. */
  publicUrl: string | undefined;
  /** First status poll after submitting, growing ×1.5 up to `pollMaxMs`. */
  pollMs: number;
  pollMaxMs: number;
  /** A request without a result this long after its submit is cancelled and the job fails. */
  deadlineMs: number;
  /** Submits per job, the first included, when fal fails transiently. */
  maxAttempts: number;
  retry: { baseMs: number; maxMs: number };
  /**
   * A job found `submitting` after a crash may have reached fal: its webhook (which names the job
   * and attempt) is waited for this long (from the submit, or from this process's start when
   * later) and adopted if it comes; after that it is submitted again.
   */
  orphanGraceMs: number;
}

export interface FalJobRunnerDeps {
  jobs: BlueprintJobsRepository;
  events: BlueprintEventsRepository;
  signals: BlueprintSignals;
  gateway: FalGateway;
  queue: FalJobQueue;
  kinds: Record<JobKind, FalJobKind>;
  /** After a job changed for good (finished, failed, canceled, retrying): blueprint status, webhooks. */
  onSettled: (job: BlueprintJobRow) => Promise<void>;
  log: Logger;
  options: FalJobRunnerOptions;
  /** Aborted when the process shuts down: jobs stop where they are and resume at the next start. */
  stop: AbortSignal;
}

export type WebhookOutcome = 'recorded' | 'adopted' | 'duplicate' | 'unknown';

const newToken = () => randomBytes(12).toString('hex');
const FINISH_TRIES = 3;

/** The job as its blueprint's event stream shows it. */
export function jobEvent(row: BlueprintJobRow): Record<string, unknown> {
  return {
    jobId: row.id,
    kind: row.kind,
    status: row.status,
    objectId: row.object_id,
    defectId: row.defect_id,
    promptId: row.prompt_id,
    attempt: row.attempt,
    falState: row.fal_state,
    queuePosition: row.queue_position,
    error: row.error,
  };
}

/**
 * Drives fal jobs through their lifecycle, durably. Each transition is a transaction that checks
 * the job's lease, so a canceled or re-queued job is never overwritten by a stale worker:
 *
 *   queued → (inputs uploaded) → submitting [committed BEFORE the submit call]
 *          → submitted [request id committed right after it] → completed | failed | canceled
 *
 * A crash leaves a job in one of these states, and each is resumed without submitting twice:
 * `queued` was never sent; `submitted` is polled again (never resubmitted); `submitting` may or
 * may not have reached fal — its webhook, whose URL names job and attempt, is adopted if it
 * comes within the grace period, and only then is the job submitted again. Completion comes from
 * whichever is first: fal's webhook (recorded by `recordWebhook`, which wakes the worker) or
 * status polling with backoff, under a deadline. Transient failures are retried with backoff as
 * new queue messages; 422s fail at once with their field errors.
 */
export class FalJobRunner {
  readonly #deps: FalJobRunnerDeps;
  readonly #active = new Set<Promise<void>>();
  /** The grace for an interrupted submit counts from here too: fal cannot redeliver to a server that is down. */
  readonly #startedAt = Date.now();

  constructor(deps: FalJobRunnerDeps) {
    this.#deps = deps;
  }

  /** Runs one queue message; on shutdown it leaves the job as it is (the next start resumes it). */
  handle(lease: JobLease): Promise<void> {
    // Failing the message (rather than dropping it) makes pg-boss hand it to a worker that stays.
    if (this.#stopping) return Promise.reject(new Error('the fal job runner is shutting down'));
    const run = this.#handle(lease);
    this.#active.add(run);
    void run.finally(() => this.#active.delete(run)).catch(() => {});
    return run;
  }

  /** Waits for the jobs in hand to stop after the stop signal. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#active]);
  }

  get #stopping(): boolean {
    return this.#deps.stop.aborted;
  }

  async #handle(lease: JobLease): Promise<void> {
    const claimed = await this.#withLease(lease, async (row, trx) => {
      if (!row.started_at) await this.#deps.jobs.update(row.id, { started_at: new Date() }, trx);
      return row;
    });
    if (!claimed) return;
    let wake: (() => void) | undefined;
    // Webhooks and job changes (a cancel) are worth a look at the row; progress of others is not.
    const unwatch = this.#deps.signals.watch(claimed.blueprint_id, (type) => (type === 'webhook' || type === 'job') && wake?.());
    const onStop = () => wake?.();
    this.#deps.stop.addEventListener('abort', onStop);
    const pause = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    try {
      await this.#drive(lease, pause);
    } catch (error) {
      if (this.#stopping) return;
      this.#deps.log.error({ err: error, jobId: lease.jobId }, 'blueprint job crashed');
      await this.#fail(lease, new FalError(`the job crashed: ${(error as Error)?.message ?? String(error)}`, { transient: false }));
    } finally {
      unwatch();
      this.#deps.stop.removeEventListener('abort', onStop);
    }
  }

  async #drive(lease: JobLease, pause: (ms: number) => Promise<void>): Promise<void> {
    for (;;) {
      const job = this.#stopping ? undefined : await this.#held(lease);
      if (!job) return;
      if (job.status === 'queued') {
        if (!(await this.#submit(job, lease))) return;
      } else if (job.status === 'submitting') {
        const waited = Date.now() - Math.max(job.submit_started_at?.getTime() ?? 0, this.#startedAt);
        if (waited < this.#deps.options.orphanGraceMs) await pause(this.#deps.options.orphanGraceMs - waited);
        else await this.#abandonOrphan(job, lease);
      } else {
        await this.#await(job, lease, pause);
        return;
      }
    }
  }

  /** Uploads, records the intent, submits, records the request id. False when the job stopped here. */
  async #submit(job: BlueprintJobRow, lease: JobLease): Promise<boolean> {
    const kind = this.#deps.kinds[job.kind];
    let input: Record<string, unknown>;
    try {
      input = await kind.prepare(job);
    } catch (error) {
      await this.#failure(lease, toFalError(error, 'preparing the request'), true);
      return false;
    }
    const intent = await this.#transition(lease, { status: 'submitting', attempt: job.attempt + 1, submit_started_at: new Date(), request_id: null, fal_payload: null, fal_state: null, queue_position: null });
    if (!intent) return false;
    let requestId: string;
    try {
      requestId = await this.#deps.gateway.submit(job.endpoint, input, this.#webhookUrl(intent));
    } catch (error) {
      await this.#failure(lease, toFalError(error, 'submitting'), false);
      return false;
    }
    const recorded = await this.#withLease(lease, async (row, trx) => {
      // A fast webhook may have adopted this very request already.
      if (row.status === 'submitted' && row.request_id === requestId) return row;
      return this.#write(row, { status: 'submitted', request_id: requestId, submitted_at: new Date() }, trx);
    });
    if (!recorded) this.#cancelQuietly(job.endpoint, requestId);
    return !!recorded;
  }

  /** The grace period passed without a webhook: the crashed submit most likely never reached fal. */
  async #abandonOrphan(job: BlueprintJobRow, lease: JobLease): Promise<void> {
    const seconds = Math.round(this.#deps.options.orphanGraceMs / 1000);
    this.#deps.log.warn({ jobId: job.id, attempt: job.attempt }, 'submit interrupted by a restart; no webhook came, submitting again');
    await this.#withLease(lease, async (row, trx) => {
      await this.#deps.events.append(row.blueprint_id, 'log', { jobId: row.id, message: `attempt ${row.attempt} was cut off by a restart while submitting and no webhook came within ${seconds} s; submitting again` }, trx);
      return this.#write(row, { status: 'queued' }, trx);
    });
  }

  /** Waits for the result (webhook or polling), then finishes or settles the failure. */
  async #await(job: BlueprintJobRow, lease: JobLease, pause: (ms: number) => Promise<void>): Promise<void> {
    const { options, gateway } = this.#deps;
    const deadline = (job.submitted_at?.getTime() ?? Date.now()) + options.deadlineMs;
    let delay = options.pollMs;
    let nextPoll = Date.now() + delay;
    let logged = 0;
    for (;;) {
      const row = this.#stopping ? undefined : await this.#held(lease);
      if (row?.status !== 'submitted' || !row.request_id) return;
      const requestId = row.request_id;
      if (row.fal_payload) {
        if (row.fal_payload.status === 'ERROR') await this.#failure(lease, webhookError(requestId, row.fal_payload.error, row.fal_payload.payload), false);
        else await this.#finish(row, lease, row.fal_payload.payload);
        return;
      }
      if (Date.now() > deadline) {
        this.#cancelQuietly(row.endpoint, requestId);
        const minutes = Math.round(options.deadlineMs / 60_000);
        await this.#fail(lease, new FalError(`fal request ${requestId} gave no result within ${minutes} min; it was cancelled`, { transient: false, hint: 'fal may be overloaded: generate again later, or raise FAL_DEADLINE_SECONDS' }));
        return;
      }
      // Woken by a webhook or a cancel, the row is read again; fal itself is asked on the schedule.
      if (Date.now() < nextPoll) {
        await pause(nextPoll - Date.now());
        continue;
      }
      delay = Math.min(options.pollMaxMs, Math.round(delay * 1.5));
      nextPoll = Date.now() + delay;
      try {
        const status = await gateway.status(row.endpoint, requestId);
        const fresh = status.logs.slice(logged);
        logged = status.logs.length;
        if (status.state !== row.fal_state || (status.queuePosition ?? null) !== row.queue_position || fresh.length) {
          await this.#progress(lease, status.state, status.queuePosition ?? null, fresh);
        }
        if (status.state === 'COMPLETED') {
          if (status.error) await this.#failure(lease, status.error, false);
          else await this.#finish(row, lease, await gateway.result(row.endpoint, requestId));
          return;
        }
      } catch (error) {
        if (this.#stopping) return;
        const failure = toFalError(error, 'waiting for the result');
        if (!failure.transient) {
          await this.#failure(lease, failure, false);
          return;
        }
        this.#deps.log.info({ jobId: row.id, err: failure.message }, 'fal status unavailable; polling on');
      }
    }
  }

  async #finish(row: BlueprintJobRow, lease: JobLease, output: unknown): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        const finished = await this.#deps.kinds[row.kind].finish(row, output);
        const done = await this.#withLease(lease, async (current, trx) => {
          if (current.status !== 'submitted' || current.request_id !== row.request_id) return undefined;
          await finished.commit?.(trx);
          return this.#write(current, { ...finished.changes, status: 'completed', job_token: null, finished_at: new Date(), error: null, error_hint: null, field_errors: null }, trx);
        });
        if (done) await this.#deps.onSettled(done);
        return;
      } catch (error) {
        if (this.#stopping) return;
        const failure = toFalError(error, 'storing the result');
        // The result stays at fal for a while: fetching it again beats generating it again.
        if (!failure.transient || tries >= FINISH_TRIES) {
          await this.#failure(lease, failure, false);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, this.#deps.options.retry.baseMs * tries));
      }
    }
  }

  async #progress(lease: JobLease, state: string, queuePosition: number | null, logs: string[]): Promise<void> {
    await this.#withLease(lease, async (row, trx) => {
      await this.#deps.jobs.update(row.id, { fal_state: state, queue_position: queuePosition }, trx);
      await this.#deps.events.append(row.blueprint_id, 'progress', { jobId: row.id, falState: state, queuePosition, logs: logs.slice(-20) }, trx);
      return row;
    });
  }

  /** A transient failure is retried (as a new queue message, after a backoff); anything else fails the job. */
  async #failure(lease: JobLease, error: FalError, beforeSubmit: boolean): Promise<void> {
    // A call cut short by shutdown says nothing about fal: the job stays as it is.
    if (this.#stopping) return;
    const { maxAttempts, retry } = this.#deps.options;
    const job = await this.#held(lease);
    if (!job) return;
    // A failure before the submit intent still counts, so a broken upload cannot retry forever.
    const attempts = beforeSubmit ? job.attempt + 1 : job.attempt;
    if (!error.transient || attempts >= maxAttempts) {
      const suffix = error.transient ? ` (gave up after ${attempts} attempts)` : '';
      await this.#fail(lease, new FalError(`${error.message}${suffix}`, { transient: false, fieldErrors: error.fieldErrors, ...(error.hint && { hint: error.hint }) }));
      return;
    }
    const exponential = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.max(0, attempts - 1));
    const delayMs = Math.round(Math.max(exponential / 2 + (Math.random() * exponential) / 2, error.retryAfterMs ?? 0));
    const token = newToken();
    const retried = await this.#withLease(lease, async (row, trx) => {
      await this.#deps.events.append(row.blueprint_id, 'log', { jobId: row.id, message: `retrying in ${Math.round(delayMs / 100) / 10} s after: ${error.message}` }, trx);
      const changed = await this.#write(row, { status: 'queued', attempt: attempts, job_token: token, error: error.message, request_id: null, fal_payload: null }, trx);
      await this.#deps.queue.enqueue({ jobId: row.id, token }, { delayMs, trx });
      return changed;
    });
    if (retried) await this.#deps.onSettled(retried);
  }

  async #fail(lease: JobLease, error: FalError): Promise<void> {
    const failed = await this.#withLease(lease, (row, trx) =>
      this.#write(
        row,
        {
          status: 'failed',
          job_token: null,
          finished_at: new Date(),
          error: error.message,
          error_hint: error.hint ?? null,
          field_errors: error.fieldErrors.length ? JSON.stringify(error.fieldErrors) : null,
        },
        trx,
      ),
    );
    if (failed) await this.#deps.onSettled(failed);
  }

  /**
   * A verified fal webhook: stored on its job (found by request id, or — for a submit cut short
   * by a crash — by the job, attempt and token in its URL) and the job's worker woken. Repeats
   * and webhooks of finished or unknown jobs change nothing.
   */
  async recordWebhook(
    requestId: string,
    body: { status: 'OK' | 'ERROR'; payload: unknown; error: string | null },
    from: { jobId?: string; attempt?: number; token?: string },
  ): Promise<WebhookOutcome> {
    return this.#deps.jobs.transaction(async (trx) => {
      let row = await this.#deps.jobs.findByRequestIdForUpdate(requestId, trx);
      let adopted = false;
      if (!row && from.jobId) {
        const candidate = await this.#deps.jobs.findForUpdate(from.jobId, trx);
        if (candidate && candidate.status === 'submitting' && candidate.webhook_token === from.token && candidate.attempt === from.attempt) {
          row = candidate;
          adopted = true;
        }
      }
      if (!row) return 'unknown';
      if (row.status !== 'submitted' && !adopted) return 'duplicate';
      if (row.fal_payload) return 'duplicate';
      await this.#write(
        row,
        { fal_payload: JSON.stringify(body), ...(adopted && { status: 'submitted' as const, request_id: requestId, submitted_at: new Date() }) },
        trx,
        'webhook',
      );
      return adopted ? 'adopted' : 'recorded';
    });
  }

  /** Cancels jobs that have not finished; fal is asked to cancel their requests. */
  async cancel(jobIds: string[]): Promise<BlueprintJobRow[]> {
    const canceled: BlueprintJobRow[] = [];
    for (const id of jobIds) {
      const row = await this.#deps.jobs.transaction(async (trx) => {
        const current = await this.#deps.jobs.findForUpdate(id, trx);
        if (!current || !isActiveJob(current.status)) return undefined;
        return this.#write(current, { status: 'canceled', job_token: null, finished_at: new Date() }, trx);
      });
      if (!row) continue;
      canceled.push(row);
      if (row.request_id) this.#cancelQuietly(row.endpoint, row.request_id);
    }
    return canceled;
  }

  /**
   * After a crash of the single embedded process: every unfinished job goes back in the queue
   * with a fresh token (stale queue messages then do nothing); each resumes from its state.
   */
  async recoverInterrupted(): Promise<number> {
    const active = await this.#deps.jobs.active();
    for (const job of active) {
      const token = newToken();
      await this.#deps.jobs.transaction(async (trx) => {
        await this.#deps.jobs.update(job.id, { job_token: token }, trx);
        await this.#deps.queue.enqueue({ jobId: job.id, token }, { trx });
      });
    }
    return active.length;
  }

  /** Sends a new job (or a regenerated one) to the queue, inside the caller's transaction. */
  async enqueueNew(jobId: string, trx: Transaction<Database>): Promise<string> {
    const token = newToken();
    await this.#deps.jobs.update(jobId, { job_token: token }, trx);
    await this.#deps.queue.enqueue({ jobId, token }, { trx });
    return token;
  }

  #webhookUrl(job: BlueprintJobRow): string | undefined {
    const base = this.#deps.options.publicUrl?.replace(/\/+$/, '');
    if (!base) return undefined;
    const query = new URLSearchParams({ job: job.id, attempt: String(job.attempt), token: job.webhook_token });
    return `${base}/api/fal/webhook?${query}`;
  }

  #cancelQuietly(endpoint: string, requestId: string): void {
    this.#deps.gateway.cancel(endpoint, requestId).catch((error) => this.#deps.log.warn({ err: error, requestId }, 'could not cancel the fal request'));
  }

  async #held(lease: JobLease): Promise<BlueprintJobRow | undefined> {
    const row = await this.#deps.jobs.find(lease.jobId);
    return row && row.job_token === lease.token && isActiveJob(row.status) ? row : undefined;
  }

  #transition(lease: JobLease, changes: BlueprintJobUpdate): Promise<BlueprintJobRow | undefined> {
    return this.#withLease(lease, (row, trx) => this.#write(row, changes, trx));
  }

  /** Updates the job and appends its event in the same transaction; returns the row as it now is. */
  async #write(row: BlueprintJobRow, changes: BlueprintJobUpdate, trx: Transaction<Database>, type = 'job'): Promise<BlueprintJobRow> {
    await this.#deps.jobs.update(row.id, changes, trx);
    const updated = (await this.#deps.jobs.find(row.id, trx))!;
    await this.#deps.events.append(row.blueprint_id, type, jobEvent(updated), trx);
    return updated;
  }

  async #withLease<T>(lease: JobLease, work: (row: BlueprintJobRow, trx: Transaction<Database>) => Promise<T>): Promise<T | undefined> {
    return this.#deps.jobs.transaction(async (trx) => {
      const row = await this.#deps.jobs.findForUpdate(lease.jobId, trx);
      const held = row && row.job_token === lease.token && isActiveJob(row.status);
      return held ? work(row, trx) : undefined;
    });
  }
}
