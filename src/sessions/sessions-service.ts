import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store.ts';
import { randomToken } from '../domain/ids.ts';
import { compareNames, safeImageName, uniqueName } from '../core/image-names.ts';
import type { PredictionsService } from '../core/predictions-service.ts';
import { fileTooLarge, invalidBase64, noGlbProduced, notAnImage, sessionBusy, sessionCompleted, sessionFull, sessionHasNoImages, sessionLimitReached, sessionMaxImagesOverLimit, sessionNotFound, sessionResultGone, sessionTooLarge, tooFewImages } from '../domain/problems.ts';
import { isFinalEvent, type RunEventFeed } from '../core/run-event-feed.ts';
import type { RunStatus } from '../domain/run-status.ts';
import type { RunLimits, RunsService, StagedImage } from '../core/runs-service.ts';
import type { SessionRow, SessionRunMode } from '../db/schema.ts';
import type { SessionsRepository } from '../db/sessions-repository.ts';
import { ARTIFACT_FILES } from '../domain/artifacts.ts';
import type { EngineRegistry } from '../engines/registry.ts';
import { detectImageType, IMAGE_SNIFF_BYTES } from '../formats/image-type.ts';
import type { ResultMetadata, ServerMessage } from '../contract/session-messages.ts';
import { progressFromRunEvent } from './progress-map.ts';
import type { CreateSessionQuery, SessionStats, SessionView } from '../contract/sessions.ts';
import { toSessionView } from './session-view.ts';

export interface SessionLimits {
  maxSessions: number;
  idleTimeoutMs: number;
  sweepIntervalMs: number;
  maxMessageBytes: number;
}

/** Someone connected to a session (a WebSocket): gets every message the session broadcasts. */
export interface SessionListener {
  send(message: ServerMessage): void;
  close(code: number, reason: string): void;
}

interface Follow {
  runId: string;
  abort: AbortController;
  done: Promise<void>;
}

interface Live {
  listeners: Set<SessionListener>;
  follow: Follow | undefined;
  finalizeRequested: boolean;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Interactive sessions: images arrive one by one (base64 over a WebSocket) and are kept under
 * `<dataDir>/sessions/<id>/images/`; each `generate` becomes an ordinary run of the session's
 * engine on the images so far, whose events are followed and re-told in the session protocol.
 * Sessions are rows, so they outlive connections and restarts.
 */
export class SessionsService {
  readonly #repo: SessionsRepository;
  readonly #runs: RunsService;
  readonly #predictions: PredictionsService;
  readonly #feed: RunEventFeed;
  readonly #blobs: BlobStore;
  readonly #engines: EngineRegistry;
  readonly #dataDir: string;
  readonly #limits: SessionLimits;
  readonly #runLimits: RunLimits;
  readonly #log: Logger;
  readonly #live = new Map<string, Live>();
  #stopped = false;

  constructor(deps: {
    repo: SessionsRepository;
    runs: RunsService;
    predictions: PredictionsService;
    feed: RunEventFeed;
    blobs: BlobStore;
    engines: EngineRegistry;
    dataDir: string;
    limits: SessionLimits;
    log: Logger;
  }) {
    this.#repo = deps.repo;
    this.#runs = deps.runs;
    this.#predictions = deps.predictions;
    this.#feed = deps.feed;
    this.#blobs = deps.blobs;
    this.#engines = deps.engines;
    this.#dataDir = deps.dataDir;
    this.#limits = deps.limits;
    this.#runLimits = deps.runs.limits;
    this.#log = deps.log;
  }

  get limits(): SessionLimits {
    return this.#limits;
  }

  async create(query: CreateSessionQuery, owner: string | null): Promise<SessionView> {
    const { engine: engineId, max_images: requestedMax, ...config } = query;
    const engine = this.#engines.get(engineId);
    const wanted: Record<string, unknown> = { confThreshold: config.conf_thresh_percentile, showCameras: config.show_cameras };
    // Engines that understand the seed's resolution and point budget get them as settings too.
    const shape = (engine.settings as { shape?: Record<string, unknown> }).shape ?? {};
    if ('processRes' in shape) wanted.processRes = config.process_res;
    if ('processResMethod' in shape) wanted.processResMethod = config.process_res_method;
    if ('numMaxPoints' in shape) wanted.numMaxPoints = config.num_max_points;
    const { settings } = this.#runs.validateSettings(engine.id, wanted);
    const platformMax = Math.min(this.#runLimits.maxImages, engine.limits.maxImages);
    if (requestedMax > platformMax) {
      throw sessionMaxImagesOverLimit(requestedMax, platformMax, engine.id);
    }
    const id = randomUUID();
    await this.#repo.transaction(async (trx) => {
      await this.#repo.lockCreation(trx);
      const count = await this.#repo.count(trx);
      if (count >= this.#limits.maxSessions) {
        throw sessionLimitReached(this.#limits.maxSessions);
      }
      await this.#repo.insert(
        {
          id,
          owner,
          engine: engine.id,
          status: 'active',
          max_images: requestedMax,
          config: JSON.stringify(config),
          settings: JSON.stringify(settings),
          run_mode: null,
          last_run_id: null,
          result_run_id: null,
          run_ids: '[]',
          error_message: null,
        },
        trx,
      );
    });
    await mkdir(this.imagesDir(id), { recursive: true });
    return this.get(id, owner);
  }

  async get(id: string, owner: string | null | undefined): Promise<SessionView> {
    return toSessionView(await this.owned(id, owner));
  }

  async list(owner: string | null | undefined): Promise<{ sessions: SessionView[]; stats: SessionStats }> {
    const rows = await this.#repo.list(owner);
    const by = (status: SessionRow['status']) => rows.filter((r) => r.status === status).length;
    return {
      sessions: rows.map(toSessionView),
      stats: {
        total_sessions: rows.length,
        active_sessions: by('active'),
        processing_sessions: by('processing'),
        completed_sessions: by('completed'),
        error_sessions: by('error'),
        total_images: rows.reduce((sum, r) => sum + r.image_count, 0),
        max_sessions: this.#limits.maxSessions,
        session_timeout_seconds: this.#limits.idleTimeoutMs / 1000,
      },
    };
  }

  /** Counts over every owner, for the server status probe. */
  async counts() {
    const rows = await this.#repo.list(undefined, 100_000);
    return {
      total: rows.length,
      active: rows.filter((r) => r.status === 'active').length,
      processing: rows.filter((r) => r.status === 'processing').length,
      max: this.#limits.maxSessions,
    };
  }

  /** Deletes the session and its images. Runs it made stay: they are ordinary runs in /api/runs. */
  async delete(id: string, owner: string | null | undefined, reason = 'Session deleted'): Promise<void> {
    await this.owned(id, owner);
    await this.remove(id, reason);
  }

  subscribe(id: string, listener: SessionListener): () => void {
    const live = this.live(id);
    live.listeners.add(listener);
    return () => {
      live.listeners.delete(listener);
      this.prune(id);
    };
  }

  async touch(id: string): Promise<void> {
    await this.#repo.touch(id);
  }

  /** Validates one base64 image like an upload (content type, size, count) and stores it. */
  async addImage(id: string, owner: string | null | undefined, input: { data: string; filename?: string | undefined }) {
    const row = await this.owned(id, owner);
    this.assertOpen(row);
    const data = decodeBase64(input.data);
    const label = input.filename ?? 'the image';
    if (data.length > this.#runLimits.maxFileBytes) {
      throw fileTooLarge(label, this.#runLimits.maxFileBytes, data.length);
    }
    const type = detectImageType(data.subarray(0, IMAGE_SNIFF_BYTES));
    if (!type) throw notAnImage(label);
    const dir = this.imagesDir(id);
    await mkdir(dir, { recursive: true });
    let written: string | undefined;
    try {
      return await this.#repo.transaction(async (trx) => {
        const locked = await this.#repo.findForUpdate(id, trx);
        if (!locked) throw sessionNotFound(id);
        this.assertOpen(locked);
        if (locked.image_count >= locked.max_images) {
          throw sessionFull(locked.image_count);
        }
        if (locked.image_bytes + data.length > this.#runLimits.maxRunBytes) {
          throw sessionTooLarge(this.#runLimits.maxRunBytes);
        }
        const original = input.filename || `image_${String(locked.image_count + 1).padStart(4, '0')}${type.extension}`;
        const taken = new Set((await this.#repo.images(id, trx)).map((i) => i.name));
        const name = uniqueName(safeImageName(original, type.extension), taken);
        const target = join(dir, name);
        const temp = join(dir, `.${randomToken(8)}.tmp`);
        await writeFile(temp, data, { flag: 'wx' });
        await rename(temp, target);
        written = target;
        await this.#repo.addImage(id, { name, bytes: data.length, contentType: type.mime }, trx);
        return { image_count: locked.image_count + 1, image_path: `images/${name}`, filename: name };
      });
    } catch (error) {
      if (written) await rm(written, { force: true });
      throw error;
    }
  }

  /** Starts a run on the images so far; its result arrives later as `delta` or `complete`. */
  async generate(id: string, owner: string | null | undefined, incremental: boolean): Promise<string> {
    return this.startRun(id, owner, incremental ? 'delta' : 'complete');
  }

  /**
   * Completes the session: a last run when images arrived since the last result, otherwise the
   * last result again. While a run is going, the finalize happens when it ends.
   */
  async finalize(id: string, owner: string | null | undefined): Promise<void> {
    const row = await this.owned(id, owner);
    if (row.status === 'processing') {
      this.live(id).finalizeRequested = true;
      return;
    }
    if (row.result_run_id && row.generated_count === row.image_count) {
      const message = await this.resultMessage(row, row.result_run_id, 'complete', row.generated_count);
      await this.#repo.update(id, { status: 'completed', error_message: null, last_activity_at: new Date() });
      this.broadcast(id, message);
      return;
    }
    await this.startRun(id, owner, 'final');
  }

  /** Picks up runs that sessions were waiting for when the server last stopped. */
  async resume(): Promise<void> {
    for (const row of await this.#repo.processing()) {
      if (this.#live.get(row.id)?.follow) continue;
      const run = row.last_run_id ? await this.#runs.findOwned(row.last_run_id).catch(() => undefined) : undefined;
      if (!run || !row.last_run_id) {
        await this.#repo.update(row.id, { status: 'error', run_mode: null, error_message: 'Interrupted by a server restart before its run was queued' });
        continue;
      }
      const images = await this.#runs.view(run);
      this.follow(row, row.last_run_id, row.run_mode ?? 'complete', images.images.length);
    }
  }

  /** Removes sessions idle longer than the timeout (not those with a run being followed here). */
  async sweep(now = Date.now()): Promise<string[]> {
    const expired = await this.#repo.expired(new Date(now - this.#limits.idleTimeoutMs));
    const removed: string[] = [];
    for (const { id } of expired) {
      if (this.#live.get(id)?.follow) continue;
      await this.remove(id, `Session expired after ${Math.round(this.#limits.idleTimeoutMs / 1000)} s without activity`);
      removed.push(id);
    }
    return removed;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const follows = [...this.#live.values()].flatMap((live) => (live.follow ? [live.follow] : []));
    for (const follow of follows) follow.abort.abort();
    await Promise.all(follows.map((f) => f.done));
  }

  imagesDir(id: string): string {
    return join(this.#dataDir, 'sessions', id, 'images');
  }

  private sessionDir(id: string): string {
    return join(this.#dataDir, 'sessions', id);
  }

  private async owned(id: string, owner: string | null | undefined): Promise<SessionRow> {
    const row = await this.#repo.find(id);
    if (!row || (owner && row.owner !== owner)) throw sessionNotFound(id);
    return row;
  }

  private assertOpen(row: SessionRow) {
    if (row.status === 'completed') {
      throw sessionCompleted(row.id);
    }
  }

  private live(id: string): Live {
    let live = this.#live.get(id);
    if (!live) {
      live = { listeners: new Set(), follow: undefined, finalizeRequested: false };
      this.#live.set(id, live);
    }
    return live;
  }

  private prune(id: string) {
    const live = this.#live.get(id);
    if (live && !live.listeners.size && !live.follow && !live.finalizeRequested) this.#live.delete(id);
  }

  private broadcast(id: string, message: ServerMessage) {
    for (const listener of this.#live.get(id)?.listeners ?? []) {
      try {
        listener.send(message);
      } catch (error) {
        this.#log.warn({ err: error, sessionId: id }, 'could not send a session message');
      }
    }
  }

  private async remove(id: string, reason: string) {
    const live = this.#live.get(id);
    if (live?.follow) {
      live.follow.abort.abort();
      await live.follow.done;
    }
    await this.#repo.delete(id);
    await rm(this.sessionDir(id), { recursive: true, force: true });
    for (const listener of live?.listeners ?? []) {
      try {
        listener.send({ type: 'error', message: reason, status: 410 });
        listener.close(1001, reason.slice(0, 120));
      } catch {
        // The socket is already gone.
      }
    }
    this.#live.delete(id);
  }

  private async startRun(id: string, owner: string | null | undefined, mode: SessionRunMode): Promise<string> {
    const { row, images } = await this.#repo.transaction(async (trx) => {
      const locked = await this.#repo.findForUpdate(id, trx);
      if (!locked || (owner && locked.owner !== owner)) throw sessionNotFound(id);
      if (locked.status === 'processing') {
        throw sessionBusy(locked.status);
      }
      this.assertOpen(locked);
      const images = await this.#repo.images(id, trx);
      if (!images.length) throw sessionHasNoImages();
      const engine = this.#engines.get(locked.engine);
      if (images.length < engine.limits.minImages) {
        throw tooFewImages(engine.id, engine.limits.minImages, `the session has ${images.length}`);
      }
      await this.#repo.update(id, { status: 'processing', run_mode: mode, error_message: null, last_activity_at: new Date() }, trx);
      return { row: locked, images };
    });
    let runId: string | undefined;
    const staged: StagedImage[] = [];
    try {
      for (const image of images.sort((a, b) => compareNames(a.name, b.name))) {
        // The session keeps its images; the run's storage gets a staged copy (a free hard link on local disk).
        const blob = await this.#blobs.stageFile(join(this.imagesDir(id), image.name));
        staged.push({ originalName: image.name, safeName: image.name, staged: blob, bytes: image.bytes, contentType: image.contentType });
      }
      const run = await this.#runs.create({ engine: row.engine, settings: row.settings, owner: row.owner });
      runId = run.runId;
      await this.#runs.addImages(run.runId, staged, row.owner);
      await this.#runs.process(run.runId, row.owner);
      await this.#repo.update(id, { last_run_id: run.runId, run_ids: JSON.stringify([...row.run_ids, run.runId]) });
    } catch (error) {
      await Promise.all(staged.map((image) => this.#blobs.discard(image.staged).catch(() => {})));
      const message = error instanceof Error ? error.message : String(error);
      await this.#repo.update(id, { status: 'error', run_mode: null, error_message: message, ...(runId && { last_run_id: runId }) });
      throw error;
    }
    this.follow(row, runId, mode, images.length);
    return runId;
  }

  private follow(row: SessionRow, runId: string, mode: SessionRunMode, imageCount: number) {
    const live = this.live(row.id);
    const abort = new AbortController();
    const done = this.followRun(row, runId, mode, imageCount, abort.signal)
      .catch(async (error) => {
        if (abort.signal.aborted) return;
        this.#log.error({ err: error, sessionId: row.id, runId }, 'session run follow-up failed');
        const message = `Could not deliver the result of run ${runId}: ${(error as Error).message}`;
        await this.#repo.update(row.id, { status: 'error', run_mode: null, error_message: message }).catch(() => {});
        this.broadcast(row.id, { type: 'error', message });
      })
      .finally(() => {
        if (live.follow?.runId === runId) live.follow = undefined;
        this.prune(row.id);
      });
    live.follow = { runId, abort, done };
  }

  private async followRun(row: SessionRow, runId: string, mode: SessionRunMode, imageCount: number, signal: AbortSignal) {
    let outcome: RunStatus | undefined;
    for await (const events of this.#feed.follow(runId, 0, signal)) {
      for (const event of events) {
        const progress = progressFromRunEvent(event);
        if (progress) this.broadcast(row.id, { type: 'progress', ...progress, run_id: runId });
        if (isFinalEvent(event)) outcome = event.data.status as RunStatus;
      }
      // A session whose run is still making progress is not idle.
      if (!outcome) await this.#repo.touch(row.id);
    }
    if (signal.aborted || this.#stopped) return;
    // The feed ends without a final event only when the run was deleted.
    await this.finishRun(row, runId, mode, imageCount, outcome ?? 'canceled');
  }

  private async finishRun(row: SessionRow, runId: string, mode: SessionRunMode, imageCount: number, outcome: RunStatus) {
    const id = row.id;
    const live = this.live(id);
    if (outcome !== 'completed') {
      const run = await this.#runs.findOwned(runId).catch(() => undefined);
      const message = run
        ? `Run ${runId} ${run.status}: ${run.error ?? run.message ?? 'no reason given'}${run.error_hint ? ` (${run.error_hint})` : ''}`
        : `Run ${runId} was deleted before it finished`;
      await this.#repo.update(id, { status: 'error', run_mode: null, error_message: message, last_activity_at: new Date() });
      live.finalizeRequested = false;
      this.broadcast(id, { type: 'error', message });
      return;
    }
    this.broadcast(id, { type: 'progress', stage: 'finalizing', progress: 0.95, message: 'Encoding the scene', run_id: runId });
    const message = await this.resultMessage(row, runId, mode === 'delta' ? 'delta' : 'complete', imageCount);
    await this.#repo.update(id, {
      status: mode === 'final' ? 'completed' : 'active',
      run_mode: null,
      generated_count: imageCount,
      result_run_id: runId,
      error_message: null,
      last_activity_at: new Date(),
    });
    this.broadcast(id, message);
    if (mode !== 'final' && live.finalizeRequested) {
      live.finalizeRequested = false;
      await this.finalize(id, undefined).catch((error: Error) => this.broadcast(id, { type: 'error', message: error.message }));
    }
  }

  private async resultMessage(row: SessionRow, runId: string, type: 'delta' | 'complete', imageCount: number): Promise<ServerMessage> {
    const run = await this.#runs.findOwned(runId).catch(() => undefined);
    if (!run) throw sessionResultGone(runId);
    if (!run.artifacts.available.glb) {
      const reason = run.artifacts.unavailable.glb;
      throw noGlbProduced(run.engine, reason);
    }
    const scratch = join(this.#dataDir, 'tmp', `session-glb-${randomToken(8)}`);
    let glb: Buffer;
    try {
      glb = await readFile(await this.#blobs.localPath(runId, ARTIFACT_FILES.glb, scratch));
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    const view = await this.#runs.view(run);
    const cameras = run.artifacts.available.predictions ? await this.#predictions.cameras(runId).catch(() => undefined) : undefined;
    const metadata: ResultMetadata = {
      num_frames: cameras?.numFrames ?? view.images.length,
      session_id: row.id,
      glb_size_bytes: glb.length,
      run_id: runId,
      engine: run.engine,
      glb_url: view.artifacts.glb ?? `/api/runs/${runId}/artifacts/glb`,
      artifacts: view.artifacts,
      image_names: view.images,
    };
    if (cameras?.cameras.length) {
      metadata.extrinsics = cameras.cameras.map((c) => [...c.extrinsic, [0, 0, 0, 1]]);
      if (cameras.cameras.every((c) => c.intrinsic)) metadata.intrinsics = cameras.cameras.map((c) => c.intrinsic as number[][]);
    }
    return { type, image_count: imageCount, glb_base64: glb.toString('base64'), metadata };
  }
}

/** base64 (optionally as a data: URL), strictly: a lenient decoder would turn garbage into bytes. */
function decodeBase64(text: string): Buffer {
  const body = text.replace(/^data:[^,]{0,200};base64,/, '').replace(/\s+/g, '');
  if (!body || body.length % 4 === 1 || !BASE64.test(body)) {
    throw invalidBase64();
  }
  return Buffer.from(body, 'base64');
}
