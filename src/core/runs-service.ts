import type { Transaction } from 'kysely';
import type { BlobStore, StagedBlob } from '../blobs/blob-store.ts';
import type { RunEventsRepository } from '../db/run-events-repository.ts';
import type { ImageRow, RunsRepository } from '../db/runs-repository.ts';
import type { Database, RunRow, RunUpdate } from '../db/schema.ts';
import type { EngineRegistry } from '../engines/registry.ts';
import type { RunQueue } from '../queue/run-queue.ts';
import { newRunId, randomToken } from '../domain/ids.ts';
import { compareNames, uniqueName } from './image-names.ts';
import { emptyUpload, invalidSettings, queuedRunsLimit, runAlreadyFinished, runAlreadyProcessing, runHasNoImages, runNotAcceptingImages, runNotFound, runTooLarge, tooFewImages, tooManyImages } from '../domain/problems.ts';
import { imageKey } from '../domain/artifacts.ts';
import { ACTIVE_STATUSES, isTerminal, type RunStatus } from '../domain/run-status.ts';
import type { RunView } from '../contract/runs.ts';
import type { RunEventFeed } from './run-event-feed.ts';
import type { RunEventHub } from './run-event-hub.ts';
import { RunViewCache } from './run-view-cache.ts';
import { toRunView } from './run-view.ts';

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
}

export interface ListRunsInput {
  status?: RunStatus[];
  engine?: string;
  owner?: string | null;
  limit: number;
  offset: number;
}

const EMPTY_ARTIFACTS = JSON.stringify({ available: {}, unavailable: {} });

/** Everything a client can do to a run. Each state change is one transaction plus an event. */
export class RunsService {
  readonly #runs: RunsRepository;
  readonly #events: RunEventsRepository;
  readonly #blobs: BlobStore;
  readonly #queue: RunQueue;
  readonly #engines: EngineRegistry;
  readonly #limits: RunLimits;
  readonly #feed: RunEventFeed;
  readonly #views = new RunViewCache();

  constructor(deps: {
    runs: RunsRepository;
    events: RunEventsRepository;
    blobs: BlobStore;
    queue: RunQueue;
    engines: EngineRegistry;
    limits: RunLimits;
    hub: RunEventHub;
    feed: RunEventFeed;
  }) {
    deps.hub.watchAll((signal) => this.#views.forget(signal.runId));
    this.#runs = deps.runs;
    this.#events = deps.events;
    this.#blobs = deps.blobs;
    this.#queue = deps.queue;
    this.#engines = deps.engines;
    this.#limits = deps.limits;
    this.#feed = deps.feed;
  }

  get limits(): RunLimits {
    return this.#limits;
  }

  validateSettings(engineId: string | undefined, settings: Record<string, unknown> | undefined) {
    const engine = this.#engines.get(engineId);
    const parsed = engine.settings.safeParse(settings ?? {});
    if (!parsed.success) {
      throw invalidSettings(engine.id, parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
    }
    return { engine, settings: parsed.data as Record<string, unknown> };
  }

  async create(input: CreateRunInput): Promise<RunView> {
    const { engine, settings } = this.validateSettings(input.engine, input.settings);
    const id = newRunId();
    await this.#runs.transaction(async (trx) => {
      await this.#runs.insert(
        {
          id,
          owner: input.owner ?? null,
          engine: engine.id,
          status: 'queued',
          stage: null,
          message: null,
          settings: JSON.stringify(settings),
          webhook_url: input.webhookUrl ?? null,
          parent_run_id: null,
          error: null,
          error_hint: null,
          job_token: null,
          artifacts: EMPTY_ARTIFACTS,
          requested_at: new Date(),
          updated_at: new Date(),
        },
        trx,
      );
      await this.#events.append(id, 'status', { status: 'queued', engine: engine.id }, trx);
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
    const images = await this.#runs.imageNames(rows.map((r) => r.id));
    const runs = await Promise.all(rows.map((row) => this.view(row, images.get(row.id) ?? [])));
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
    const engine = this.#engines.get(row.engine);
    const maxImages = Math.min(this.#limits.maxImages, engine.limits.maxImages);
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
      const engine = this.#engines.get(row.engine);
      if (!images.length) throw runHasNoImages(id, 'process');
      if (images.length < engine.limits.minImages) {
        throw tooFewImages(engine.id, engine.limits.minImages, `run ${id} has ${images.length}`);
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

  /** A new run on the same images with changed settings, queued at once. */
  async rerun(id: string, settings: Record<string, unknown> | undefined, owner?: string | null, engineId?: string): Promise<RunView> {
    const parent = await this.findOwned(id, owner);
    await this.assertQueueRoom(owner ?? null);
    const images = await this.#runs.images(id);
    if (!images.length) throw runHasNoImages(id, 'rerun');
    const sameEngine = !engineId || engineId === parent.engine;
    const merged = sameEngine ? { ...parent.settings, ...settings } : settings;
    const { engine, settings: validated } = this.validateSettings(engineId ?? parent.engine, merged);
    const childId = newRunId();
    await Promise.all(images.map((image) => this.#blobs.copy(id, childId, imageKey(image.name))));
    try {
      await this.#runs.transaction(async (trx) => {
        await this.#runs.insert(
          {
            id: childId,
            owner: parent.owner,
            engine: engine.id,
            status: 'uploading',
            stage: null,
            message: null,
            settings: JSON.stringify(validated),
            webhook_url: parent.webhook_url,
            parent_run_id: id,
            error: null,
            error_hint: null,
            job_token: null,
            artifacts: EMPTY_ARTIFACTS,
            requested_at: new Date(),
            updated_at: new Date(),
          },
          trx,
        );
        await this.#runs.addImages(childId, images, trx);
        await this.#events.append(childId, 'status', { status: 'uploading', parentRunId: id }, trx);
        const child = await this.#runs.findForUpdate(childId, trx);
        if (!child) throw new Error('rerun: new run vanished');
        await this.queueForWork(child, trx, { message: `rerun of ${id}` });
      });
    } catch (error) {
      await this.#blobs.deleteRun(childId);
      throw error;
    }
    return this.afterChange(childId);
  }

  /** Puts a run in the engine's queue under a fresh job token (stale jobs then do nothing). */
  async queueForWork(row: RunRow, trx: Transaction<Database>, options: { message: string; delayMs?: number }) {
    const token = randomToken(12);
    await this.setStatus(
      row,
      { status: 'processing', stage: 'waiting', progress: 0, message: options.message, queued_at: new Date(), job_token: token },
      trx,
    );
    await this.#queue.enqueue(row.engine, { runId: row.id, token }, { trx, ...(options.delayMs && { delayMs: options.delayMs }) });
  }

  /** Updates the row and records the change as a status event, in the caller's transaction. */
  async setStatus(row: RunRow, changes: RunUpdate & { status: RunStatus }, trx: Transaction<Database>) {
    await this.#runs.update(row.id, changes, trx);
    const event: Record<string, unknown> = { status: changes.status };
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

  async view(row: RunRow, images?: string[]): Promise<RunView> {
    const names = images ?? (await this.#runs.images(row.id)).map((i) => i.name).sort(compareNames);
    const waiting = row.status === 'processing' && row.stage === 'waiting';
    return toRunView(row, names, waiting ? await this.#runs.queuePosition(row) : null);
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
  private async assertQueueRoom(owner: string | null) {
    const max = this.#limits.maxQueuedRunsPerKey;
    if (!owner || !max) return;
    const { total } = await this.#runs.list({ status: [...ACTIVE_STATUSES], owner, limit: 1, offset: 0 });
    if (total >= max) {
      throw queuedRunsLimit(owner, total, max);
    }
  }

  private assertImageLimits(row: RunRow, existing: { bytes: number }[], adding: { bytes: number }[]) {
    const engine = this.#engines.get(row.engine);
    const maxImages = Math.min(this.#limits.maxImages, engine.limits.maxImages);
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

