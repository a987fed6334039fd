import type { Transaction } from 'kysely';
import type { BlobStore, StagedBlob } from '../blobs/blob-store.ts';
import type { RunEventsRepository } from '../db/run-events-repository.ts';
import type { ImageRow, RunsRepository } from '../db/runs-repository.ts';
import type { RunStagesRepository } from '../db/run-stages-repository.ts';
import type { Database, RunRow, RunStageRow, RunUpdate } from '../db/schema.ts';
import type { RunQueue } from '../queue/run-queue.ts';
import { newRunId, randomToken } from '../domain/ids.ts';
import { imageKey } from '../domain/artifacts.ts';
import { isStageDone } from '../domain/run-stage.ts';
import type { RunPlanner } from '../pipelines/run-planner.ts';
import { isVideoType } from '../formats/video-type.ts';
import { compareNames, uniqueName } from './image-names.ts';
import { emptyUpload, queuedRunsLimit, runAlreadyFinished, runAlreadyProcessing, runHasNoImages, runNotAcceptingImages, runNotFound, runTooLarge, tooFewImages, tooManyImages } from '../domain/problems.ts';
import { ACTIVE_STATUSES, isTerminal, type RunStatus } from '../domain/run-status.ts';
import type { RunView } from '../contract/runs.ts';
import type { RunEventFeed } from './run-event-feed.ts';
import type { RunEventHub } from './run-event-hub.ts';
import { RunViewCache } from './run-view-cache.ts';
import { toRunView } from './run-view.ts';
import { newRunRow } from './new-run-row.ts';
import { RunCopies } from './run-copies.ts';
import { stageRows } from './stage-reuse.ts';

export interface RunLimits {
  maxImages: number;
  maxFileBytes: number;
  maxRunBytes: number;
  /** Runs a key may have queued or running at once (runs without an owner are not counted). */
  maxQueuedRunsPerKey?: number;
  /** Uploads are refused below this much free disk (checked by the upload route). */
  minFreeDiskBytes?: number;
}

/** An uploaded file already in the blob store's staging area and recognised as an image. */
export interface StagedImage {
  originalName: string;
  safeName: string;
  staged: StagedBlob;
  bytes: number;
  contentType: string;
}

/** An image whose bytes are already in place under a name `reserveImageName` gave it. */
export interface PlacedImage {
  originalName: string;
  name: string;
  bytes: number;
  contentType: string;
}

export type StoredImages = RunView & { stored: { original: string; stored: string }[] };

export interface CreateRunInput {
  settings?: Record<string, unknown> | undefined;
  engine?: string | undefined;
  webhookUrl?: string | undefined;
  owner?: string | null;
  /** Start a pipeline from this completed run's outputs instead of running its first stage. */
  fromRun?: string | undefined;
}

export interface RerunInput {
  settings?: Record<string, unknown> | undefined;
  engine?: string | undefined;
  /** Reuse the parent's outputs of the stages before this one. */
  fromStage?: string | undefined;
}

export interface ListRunsInput {
  status?: RunStatus[];
  engine?: string;
  owner?: string | null;
  limit: number;
  offset: number;
}


/** Everything a client can do to a run. Each state change is one transaction plus an event. */
export class RunsService {
  readonly #runs: RunsRepository;
  readonly #events: RunEventsRepository;
  readonly #blobs: BlobStore;
  readonly #queue: RunQueue;
  readonly #stages: RunStagesRepository;
  readonly #planner: RunPlanner;
  readonly #limits: RunLimits;
  readonly #feed: RunEventFeed;
  readonly #views = new RunViewCache();
  readonly #copies: RunCopies;

  constructor(deps: {
    runs: RunsRepository;
    events: RunEventsRepository;
    blobs: BlobStore;
    queue: RunQueue;
    stages: RunStagesRepository;
    planner: RunPlanner;
    limits: RunLimits;
    hub: RunEventHub;
    feed: RunEventFeed;
  }) {
    deps.hub.watchAll((signal) => this.#views.forget(signal.runId));
    this.#runs = deps.runs;
    this.#events = deps.events;
    this.#blobs = deps.blobs;
    this.#queue = deps.queue;
    this.#stages = deps.stages;
    this.#planner = deps.planner;
    this.#limits = deps.limits;
    this.#feed = deps.feed;
    this.#copies = new RunCopies({ ...deps, service: this });
  }

  get limits(): RunLimits {
    return this.#limits;
  }

  /** The run's stages and validated settings, or a 400 that names what is wrong. */
  validateSettings(engineId: string | undefined, settings: Record<string, unknown> | undefined) {
    const plan = this.#planner.plan(engineId, settings);
    return { engine: { id: plan.id, limits: plan.limits }, settings: plan.settings, plan };
  }

  async create(input: CreateRunInput): Promise<RunView> {
    const { plan } = this.validateSettings(input.engine, input.settings);
    if (input.fromRun) return this.#copies.fromRun(plan, input.fromRun, input);
    const id = newRunId();
    await this.#runs.transaction(async (trx) => {
      await this.#runs.insert(newRunRow(id, plan, input, { status: 'queued', parentRunId: null }), trx);
      await this.#stages.insert(stageRows(id, plan.stages), trx);
      await this.#events.append(id, 'status', { status: 'queued', engine: plan.id }, trx);
    });
    return this.afterChange(id);
  }

  async get(id: string, owner?: string | null): Promise<RunView> {
    const cached = this.#views.get(id, owner);
    if (cached) return cached;
    const ticket = this.#views.ticket();
    const row = await this.findOwned(id, owner);
    const view = await this.view(row);
    this.#views.set(row.owner, view, ticket);
    return view;
  }

  async list(input: ListRunsInput): Promise<{ runs: RunView[]; total: number }> {
    const { rows, total } = await this.#runs.list(input);
    const ids = rows.map((r) => r.id);
    const [images, stages] = await Promise.all([this.#runs.imageNames(ids), this.#stages.forRuns(ids)]);
    const runs = await Promise.all(rows.map((row) => this.view(row, images.get(row.id) ?? [], stages.get(row.id) ?? [])));
    return { runs, total };
  }

  /**
   * The run's events after `afterId`, then live ones until it ends (for SSE); undefined when the
   * run has ended and nothing is left to send.
   */
  async followEvents(id: string, owner: string | null | undefined, afterId: number, signal: AbortSignal) {
    const row = await this.findOwned(id, owner);
    if (isTerminal(row.status) && !(await this.#events.after(id, afterId, 1)).length) return undefined;
    return this.#feed.follow(id, afterId, signal);
  }

  /** What the run already holds, so an upload can stop as soon as it would cross a limit. */
  async uploadAllowance(id: string, owner?: string | null) {
    const row = await this.findOwned(id, owner);
    this.assertAcceptsImages(row);
    const images = await this.#runs.images(id);
    const maxImages = Math.min(this.#limits.maxImages, this.#planner.limits(row.engine).maxImages);
    return {
      images: maxImages - images.length,
      bytes: this.#limits.maxRunBytes - images.reduce((sum, i) => sum + i.bytes, 0),
      maxImages,
      minFreeDiskBytes: this.#limits.minFreeDiskBytes ?? 0,
      maxRunBytes: this.#limits.maxRunBytes,
    };
  }

  /**
   * Adds staged files to the run, all or nothing: names are made unique, files are put in place in
   * the run's storage, rows are inserted, and any failure removes what was put in place.
   */
  async addImages(id: string, staged: StagedImage[], owner?: string | null): Promise<StoredImages> {
    if (!staged.length) throw emptyUpload();
    const placed: string[] = [];
    const stored: { original: string; stored: string }[] = [];
    try {
      await this.#runs.transaction(async (trx) => {
        const row = await this.lockOwned(id, owner, trx);
        this.assertAcceptsImages(row);
        const existing = await this.#runs.images(id, trx);
        this.assertImageLimits(row, existing, staged);
        const taken = new Set([...existing.map((i) => i.name), ...(await this.#runs.reservedImageNames(id, trx))]);
        const rows: ImageRow[] = [];
        for (const file of staged) {
          const name = uniqueName(file.safeName, taken);
          taken.add(name);
          await this.#blobs.putStaged(id, imageKey(name), file.staged);
          placed.push(name);
          rows.push({ name, bytes: file.bytes, contentType: file.contentType });
          stored.push({ original: file.originalName, stored: name });
        }
        await this.recordImages(row, rows, trx);
      });
    } catch (error) {
      await Promise.all(placed.map((name) => this.#blobs.remove(id, imageKey(name))));
      throw error;
    }
    return { ...(await this.afterChange(id)), stored };
  }

  /**
   * Takes a unique name for an image whose bytes are about to stream straight to their place, so
   * no other upload (in this process or another) writes the same key. Undone by `releaseReserved`,
   * made part of the run by `commitReserved`; a sweep removes what a dead process left.
   */
  async reserveImageName(id: string, owner: string | null | undefined, wanted: string, uploadId: string): Promise<string> {
    return this.#runs.transaction(async (trx) => {
      const row = await this.lockOwned(id, owner, trx);
      this.assertAcceptsImages(row);
      const taken = new Set([...(await this.#runs.images(id, trx)).map((i) => i.name), ...(await this.#runs.reservedImageNames(id, trx))]);
      const name = uniqueName(wanted, taken);
      await this.#runs.reserveImageName(id, name, uploadId, trx);
      return name;
    });
  }

  /** Makes the upload's placed images part of the run, all at once (limits checked again, under the run's lock). */
  async commitReserved(id: string, owner: string | null | undefined, uploadId: string, images: PlacedImage[]): Promise<StoredImages> {
    if (!images.length) throw emptyUpload();
    await this.#runs.transaction(async (trx) => {
      const row = await this.lockOwned(id, owner, trx);
      this.assertAcceptsImages(row);
      this.assertImageLimits(row, await this.#runs.images(id, trx), images);
      await this.#runs.releaseReservations(id, uploadId, trx);
      await this.recordImages(row, images.map(({ name, bytes, contentType }) => ({ name, bytes, contentType })), trx);
    });
    return { ...(await this.afterChange(id)), stored: images.map((i) => ({ original: i.originalName, stored: i.name })) };
  }

  /** An upload that failed: its names are free again (its bytes are the caller's to remove). */
  releaseReserved(id: string, uploadId: string): Promise<void> {
    return this.#runs.releaseReservations(id, uploadId);
  }

  /** Queues the run for its engine. */
  async process(id: string, owner?: string | null): Promise<RunView> {
    // Outside the transaction: the embedded store has one connection, held by a transaction.
    await this.assertQueueRoom(owner ?? null);
    await this.#runs.transaction(async (trx) => {
      const row = await this.lockOwned(id, owner, trx);
      if (ACTIVE_STATUSES.includes(row.status) || (row.status === 'uploading' && row.job_token)) {
        throw runAlreadyProcessing(id, row.status);
      }
      if (isTerminal(row.status)) {
        throw runAlreadyFinished(id, row.status, true);
      }
      const images = await this.#runs.images(id, trx);
      const { minImages } = this.#planner.limits(row.engine);
      if (!images.length) throw runHasNoImages(id, 'process');
      // A video counts for as many frames as it will give.
      if (images.length < minImages && !images.some((image) => isVideoType(image.contentType))) {
        throw tooFewImages(row.engine, minImages, `run ${id} has ${images.length}`);
      }
      await this.queueForWork(row, trx, { message: 'waiting for a worker' });
    });
    return this.afterChange(id);
  }

  async cancel(id: string, owner?: string | null, reason = 'canceled by request'): Promise<RunView> {
    await this.#runs.transaction(async (trx) => {
      const row = await this.lockOwned(id, owner, trx);
      if (isTerminal(row.status)) throw runAlreadyFinished(id, row.status, false);
      await this.setStatus(row, { status: 'canceled', message: reason, job_token: null, finished_at: new Date() }, trx);
      const stage = await this.#stages.current(id, trx);
      if (stage) {
        await this.#stages.closeAttempt(id, stage.position, trx);
        await this.#stages.update(id, stage.position, { status: 'canceled', message: reason, finished_at: new Date() }, trx);
      }
    });
    return this.afterChange(id);
  }

  async delete(id: string, owner?: string | null): Promise<void> {
    const row = await this.findOwned(id, owner);
    if (!isTerminal(row.status)) await this.cancel(id, owner, 'deleted').catch(() => {});
    await this.#runs.delete(id);
    this.#views.forget(id);
    await this.#blobs.deleteRun(id);
  }

  /**
   * A new run on the same images with changed settings, queued at once. With `fromStage`, the
   * parent's outputs of the earlier stages are reused and only that stage and the later ones run.
   */
  rerun(id: string, input: RerunInput, owner?: string | null): Promise<RunView> {
    return this.#copies.rerun(id, input, owner);
  }

  /**
   * Puts the run's next stage in its engine's queue under a fresh job token (stale jobs then do
   * nothing). The run's progress counts the stages already done.
   */
  async queueForWork(row: RunRow, trx: Transaction<Database>, options: { message: string; delayMs?: number }) {
    const stages = await this.#stages.forRun(row.id, trx);
    const stage = stages.find((s) => !isStageDone(s.status));
    if (!stage) throw new Error(`run ${row.id} has no stage left to run`);
    const token = randomToken(12);
    const progress = stages.filter((s) => isStageDone(s.status)).length / stages.length;
    await this.setStatus(
      row,
      { status: 'processing', stage: 'waiting', progress, message: options.message, queued_at: new Date(), job_token: token },
      trx,
    );
    await this.#stages.update(row.id, stage.position, { status: 'waiting', progress: 0, message: options.message }, trx);
    await this.#events.append(row.id, 'stage', { pipelineStage: stage.name, position: stage.position, engine: stage.engine, status: 'waiting' }, trx);
    await this.#queue.enqueue(stage.engine, { runId: row.id, token }, { trx, ...(options.delayMs && { delayMs: options.delayMs }) });
  }

  /** Updates the row and records the change as a status event, in the caller's transaction. */
  async setStatus(row: RunRow, changes: RunUpdate & { status: RunStatus }, trx: Transaction<Database>, extra?: Record<string, unknown>) {
    await this.#runs.update(row.id, changes, trx);
    const event: Record<string, unknown> = { status: changes.status, ...extra };
    for (const key of ['stage', 'progress', 'message', 'error', 'error_hint'] as const) {
      if (changes[key] !== undefined) event[key === 'error_hint' ? 'errorHint' : key] = changes[key];
    }
    await this.#events.append(row.id, 'status', event, trx);
  }

  /** After a committed change: the manifest on disk mirrors the database. */
  async afterChange(id: string): Promise<RunView> {
    const ticket = this.#views.ticket();
    const row = await this.#runs.find(id);
    if (!row) throw runNotFound(id);
    const view = await this.view(row);
    this.#views.set(row.owner, view, ticket);
    await this.#blobs.writeJson(id, 'metadata.json', view);
    return view;
  }

  async view(row: RunRow, images?: string[], stages?: RunStageRow[]): Promise<RunView> {
    const names = images ?? (await this.#runs.images(row.id)).map((i) => i.name).sort(compareNames);
    const rows = stages ?? (await this.#stages.forRun(row.id));
    const waiting = row.status === 'processing' && row.stage === 'waiting';
    return toRunView(row, names, waiting ? await this.#runs.queuePosition(row) : null, rows);
  }

  async findOwned(id: string, owner?: string | null): Promise<RunRow> {
    const row = await this.#runs.find(id);
    if (!row || (owner && row.owner !== owner)) throw runNotFound(id);
    return row;
  }

  private async lockOwned(id: string, owner: string | null | undefined, trx: Transaction<Database>): Promise<RunRow> {
    const row = await this.#runs.findForUpdate(id, trx);
    if (!row || (owner && row.owner !== owner)) throw runNotFound(id);
    return row;
  }

  /** 429 when the calling key already has its limit of runs queued or running (admins and open servers are not limited). */
  async assertQueueRoom(owner: string | null) {
    const max = this.#limits.maxQueuedRunsPerKey;
    if (!owner || !max) return;
    const { total } = await this.#runs.list({ status: [...ACTIVE_STATUSES], owner, limit: 1, offset: 0 });
    if (total >= max) {
      throw queuedRunsLimit(owner, total, max);
    }
  }

  private assertImageLimits(row: RunRow, existing: { bytes: number }[], adding: { bytes: number }[]) {
    const maxImages = Math.min(this.#limits.maxImages, this.#planner.limits(row.engine).maxImages);
    if (existing.length + adding.length > maxImages) {
      throw tooManyImages(`the run has ${existing.length} and this upload adds ${adding.length}, over the limit of ${maxImages} per run`, maxImages);
    }
    const totalBytes = [...existing, ...adding].reduce((sum, i) => sum + i.bytes, 0);
    if (totalBytes > this.#limits.maxRunBytes) {
      throw runTooLarge(`The run's images would total ${totalBytes} bytes, over the limit of ${this.#limits.maxRunBytes} per run`, this.#limits.maxRunBytes);
    }
  }

  /** Inserts the image rows, marks the run uploading and logs the names, in the caller's transaction. */
  private async recordImages(row: RunRow, rows: ImageRow[], trx: Transaction<Database>) {
    await this.#runs.addImages(row.id, rows, trx);
    if (row.status !== 'uploading') await this.setStatus(row, { status: 'uploading' }, trx);
    await this.#events.append(row.id, 'log', { lines: rows.map((r) => `stored image ${r.name}`) }, trx);
  }

  private assertAcceptsImages(row: RunRow) {
    if (row.status !== 'queued' && row.status !== 'uploading') {
      throw runNotAcceptingImages(row.id, row.status);
    }
    if (row.job_token) throw runAlreadyProcessing(row.id, row.status);
  }
}


