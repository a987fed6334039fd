import { randomToken } from '../domain/ids.ts';
import { Problem } from '../domain/problem.ts';
import { batchEmpty, batchNotFound, batchTooLarge, runHasNoImages, tooFewImages } from '../domain/problems.ts';
import { isTerminal, type RunStatus } from '../domain/run-status.ts';
import type { RunsService, StagedImage } from '../core/runs-service.ts';
import type { BatchesRepository } from '../db/batches-repository.ts';
import type { BatchRow } from '../db/schema.ts';
import { MAX_BATCH_RUNS } from '../contract/batches.ts';


export interface BatchRunSpec {
  engine?: string | undefined;
  settings?: Record<string, unknown> | undefined;
  webhookUrl?: string | undefined;
}

export interface BatchStatus {
  batchId: string;
  status: 'processing' | 'completed';
  total: number;
  queued: number;
  processing: number;
  completed: number;
  failed: number;
  canceled: number;
  runIds: string[];
  createdAt: string;
  completedAt: string | null;
}

export type BatchCompletedListener = (batch: BatchStatus, owner: string | null, webhookUrl: string | null) => Promise<void>;

const newBatchId = () => `batch_${Date.now()}_${randomToken(8)}`;

const COUNTED: Record<RunStatus, 'queued' | 'processing' | 'completed' | 'failed' | 'canceled'> = {
  queued: 'queued',
  uploading: 'queued',
  processing: 'processing',
  fetching: 'processing',
  completed: 'completed',
  failed: 'failed',
  canceled: 'canceled',
};

/** Problems about one run of the batch say which one. */
function inRun(index: number, error: unknown): unknown {
  return error instanceof Problem ? error.within(`runs[${index}]`, { run: index }) : error;
}

/** Several runs created, filled and queued as one request, followed as one. */
export class BatchesService {
  readonly #repo: BatchesRepository;
  readonly #runs: RunsService;
  #onCompleted: BatchCompletedListener = async () => {};

  constructor(deps: { repo: BatchesRepository; runs: RunsService }) {
    this.#repo = deps.repo;
    this.#runs = deps.runs;
  }

  onCompleted(listener: BatchCompletedListener) {
    this.#onCompleted = listener;
  }

  /** Checks every spec before anything is created (settings per engine). Returns each run's engine id. */
  validateSpecs(specs: BatchRunSpec[], assertUrl: (url: string, field: string) => void) {
    if (!specs.length) throw batchEmpty();
    if (specs.length > MAX_BATCH_RUNS) throw batchTooLarge(MAX_BATCH_RUNS, specs.length);
    return specs.map((spec, index) => {
      try {
        if (spec.webhookUrl) assertUrl(spec.webhookUrl, `runs[${index}].webhookUrl`);
        return this.#runs.validateSettings(spec.engine, spec.settings).engine;
      } catch (error) {
        throw inRun(index, error);
      }
    });
  }

  /** New runs from specs and their staged files: all are created and queued, or none is left. */
  async createWithImages(
    owner: string | null,
    specs: BatchRunSpec[],
    files: StagedImage[][],
    webhookUrl: string | undefined,
  ): Promise<BatchStatus> {
    specs.forEach((spec, index) => {
      const { engine } = this.#runs.validateSettings(spec.engine, spec.settings);
      const count = files[index]?.length ?? 0;
      const needed = Math.max(1, engine.limits.minImages);
      if (count < needed) {
        throw inRun(index, tooFewImages(engine.id, needed, `this run has ${count} (send them in field run${index})`));
      }
    });
    const created: string[] = [];
    const batchId = newBatchId();
    try {
      for (const spec of specs) {
        const run = await this.#runs.create({ ...spec, owner });
        created.push(run.runId);
      }
      // The batch exists before any run is queued, so no run can finish unnoticed by it.
      await this.#repo.insert({ id: batchId, owner, webhookUrl: webhookUrl ?? null }, created);
      for (const [index, runId] of created.entries()) {
        try {
          await this.#runs.addImages(runId, files[index] ?? [], owner);
        } catch (error) {
          throw inRun(index, error);
        }
      }
      for (const [index, runId] of created.entries()) {
        try {
          await this.#runs.process(runId, owner);
        } catch (error) {
          throw inRun(index, error);
        }
      }
    } catch (error) {
      await this.#repo.delete(batchId).catch(() => {});
      await Promise.all(created.map((id) => this.#runs.delete(id, owner).catch(() => {})));
      throw error;
    }
    return this.settle(batchId);
  }

  /**
   * A batch of existing runs: those still taking images are queued now; those already queued or
   * finished are grouped as they are. Every run is checked before any is queued.
   */
  async createFromRuns(owner: string | null, runIds: string[], webhookUrl: string | undefined): Promise<BatchStatus> {
    const unique = [...new Set(runIds)];
    if (!unique.length) throw batchEmpty();
    if (unique.length > MAX_BATCH_RUNS) throw batchTooLarge(MAX_BATCH_RUNS, unique.length);
    const toProcess: string[] = [];
    for (const runId of unique) {
      const run = await this.#runs.get(runId, owner);
      if (run.status === 'queued' || run.status === 'uploading') {
        if (!run.images.length) throw runHasNoImages(runId, 'batch');
        toProcess.push(runId);
      }
    }
    const batchId = newBatchId();
    await this.#repo.insert({ id: batchId, owner, webhookUrl: webhookUrl ?? null }, unique);
    try {
      for (const runId of toProcess) await this.#runs.process(runId, owner);
    } catch (error) {
      // Runs queued so far stay queued (they are the caller's runs); the batch itself goes.
      await this.#repo.delete(batchId).catch(() => {});
      throw error;
    }
    return this.settle(batchId);
  }

  async status(batchId: string, owner: string | null): Promise<BatchStatus> {
    const batch = await this.#repo.find(batchId);
    if (!batch || (owner && batch.owner !== owner)) throw batchNotFound(batchId);
    return this.view(batch);
  }

  /** A run of the batch (maybe) finished: completes every batch whose runs are now all terminal. */
  async settleRun(runId: string): Promise<void> {
    for (const batchId of await this.#repo.openBatchesOf(runId)) await this.settle(batchId);
  }

  private async settle(batchId: string): Promise<BatchStatus> {
    const batch = await this.#repo.find(batchId);
    if (!batch) throw batchNotFound(batchId);
    const view = await this.view(batch);
    if (batch.completed_at || view.total === 0 || view.queued + view.processing > 0) return view;
    const completed = await this.#repo.markCompleted(batchId);
    if (!completed) return this.view((await this.#repo.find(batchId)) ?? batch);
    const done = await this.view(completed);
    await this.#onCompleted(done, completed.owner, completed.webhook_url);
    return done;
  }

  private async view(batch: BatchRow): Promise<BatchStatus> {
    const runs = await this.#repo.runs(batch.id);
    const counts = { queued: 0, processing: 0, completed: 0, failed: 0, canceled: 0 };
    for (const run of runs) counts[COUNTED[run.status]]++;
    const allTerminal = runs.every((r) => isTerminal(r.status));
    return {
      batchId: batch.id,
      status: batch.completed_at || (runs.length && allTerminal) ? 'completed' : 'processing',
      total: runs.length,
      ...counts,
      runIds: runs.map((r) => r.runId),
      createdAt: batch.created_at.toISOString(),
      completedAt: batch.completed_at?.toISOString() ?? null,
    };
  }
}
