import type { z } from 'zod';
import type { RunEventType } from '../domain/run-event.ts';
import type { RunStatus } from '../domain/run-status.ts';
import type { RunStageView, RunView } from '../contract/runs.ts';
import type { ArtifactKind } from '../domain/artifacts.ts';
import type { camerasResponse, metadataResponse } from '../contract/predictions.ts';
import type { enginesResponse, engineView } from '../contract/engines.ts';
import type { healthResponse } from '../contract/system.ts';
import type { workersResponse } from '../contract/workers.ts';
import type { createRunBody, processResult, rerunBody, runList, uploadResult } from '../contract/runs.ts';
import { ReconApiError, ReconConnectionError, StreamUnavailableError } from './errors.ts';
import { BlueprintsClient } from './blueprints.ts';
import { SseParser } from './sse.ts';
import { browserXhr, multipartStream, type UploadItem, type UploadProgress, xhrUpload } from './upload.ts';

// The core client runs in browsers too: no node: imports here (Node-only helpers are in node.ts).
export { ReconApiError, ReconConnectionError, StreamUnavailableError } from './errors.ts';
export type { ProblemDetails } from './errors.ts';
export type { UploadItem, UploadProgress } from './upload.ts';
export * from './blueprints.ts';
export type { RunView } from '../contract/runs.ts';
export type { RunStatus } from '../domain/run-status.ts';
export type { ArtifactKind } from '../domain/artifacts.ts';

export type CreateRunInput = z.input<typeof createRunBody>;
export type RerunInput = z.input<typeof rerunBody>;
export type RunList = z.infer<typeof runList>;
export type UploadResult = z.infer<typeof uploadResult>;
export type ProcessResult = z.infer<typeof processResult>;
export type EngineInfo = z.infer<typeof engineView>;
export type EnginesList = z.infer<typeof enginesResponse>;
export type Health = z.infer<typeof healthResponse>;
export type WorkersList = z.infer<typeof workersResponse>;
export type Cameras = z.infer<typeof camerasResponse>;
export type PredictionsMetadata = z.infer<typeof metadataResponse>;

export interface ListRunsOptions {
  status?: RunStatus | RunStatus[];
  engine?: string;
  limit?: number;
  offset?: number;
}

interface EventBase {
  /** The event's id in the run's stream (0 for events made up from polling). */
  id: number;
  runId: string;
  at: string;
  /** True when the event was derived from polling GET /api/runs/:id, not streamed. */
  polled?: boolean;
}
/** Which of the run's stages an event is about (runs of several stages; a plain run's one stage is named after its engine). */
interface StageFields {
  pipelineStage?: string;
  /** Progress within that stage (`progress` is the whole run's). */
  stageProgress?: number;
  /** The engine's latest numbers (iteration, loss, …). */
  details?: Record<string, unknown>;
}
/** What GET /api/runs/:id/stream sends, by event type. */
export type RunStreamEvent =
  | (EventBase &
      StageFields & {
        type: Extract<RunEventType, 'status'>;
        status: RunStatus;
        stage?: string | null;
        progress?: number;
        message?: string | null;
        error?: string | null;
        errorHint?: string | null;
      })
  | (EventBase & StageFields & { type: Extract<RunEventType, 'progress'>; stage: string; progress: number; message: string | null })
  | (EventBase & StageFields & { type: Extract<RunEventType, 'log'>; lines: string[] })
  | (EventBase & StageFields & { type: Extract<RunEventType, 'retry'>; error: string; delayMs: number; nextAttempt: number })
  | (EventBase & {
      type: Extract<RunEventType, 'stage'>;
      pipelineStage: string;
      position: number;
      engine: string;
      status: RunStageView['status'];
      attempt?: number;
      worker?: string;
      seconds?: number;
      cost?: number;
      error?: string;
    });

export interface EventsOptions {
  signal?: AbortSignal;
  /** Start after this event id (like Last-Event-ID). */
  lastEventId?: number;
  /** A connection silent for this long is dropped and resumed (the server sends heartbeats every 15 s). */
  idleTimeoutMs?: number;
  /** Consecutive failed connections before giving up with StreamUnavailableError. */
  maxFailures?: number;
  /** First reconnect delay after a failure; doubles per failure, capped at 5 s. */
  retryDelayMs?: number;
}

export interface WaitOptions extends EventsOptions {
  /** Every event, streamed or (when polling) derived from changes of the run. */
  onEvent?: (event: RunStreamEvent) => void;
  /** Called once if the stream cannot be used and the client polls instead. */
  onFallback?: (reason: Error) => void;
  /** Use the event stream (default) or only poll. */
  stream?: boolean;
  pollIntervalMs?: number;
}

export interface SubmitInput extends CreateRunInput {
  files: UploadItem[];
  onUploadProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
}

const TERMINAL: readonly RunStatus[] = ['completed', 'failed', 'canceled'];
export const isTerminalStatus = (status: RunStatus) => TERMINAL.includes(status);

function delay(ms: number, signal?: AbortSignal) {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const parseBody = (text: string): unknown => {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** A typed client for the Recon HTTP API; works in Node (≥ 20) and browsers. */
export class ReconClient {
  readonly baseUrl: string;
  readonly #apiKey: string | undefined;
  readonly #fetch: typeof fetch;
  #blueprints: BlueprintsClient | undefined;

  constructor(baseUrl: string, options: { apiKey?: string; fetch?: typeof fetch } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey || undefined;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Defect blueprints: photos and defects in, labelled defect datasets out (see BlueprintsClient). */
  get blueprints(): BlueprintsClient {
    this.#blueprints ??= new BlueprintsClient(this);
    return this.#blueprints;
  }

  /** Headers every request carries (the API key). */
  authHeaders(): Record<string, string> {
    return this.#apiKey ? { authorization: `Bearer ${this.#apiKey}` } : {};
  }

  url(path: string) {
    return `${this.baseUrl}${path}`;
  }

  /** fetch with the API key; connection failures become ReconConnectionError, aborts stay aborts. */
  async send(method: string, path: string, init: RequestInit = {}): Promise<Response> {
    const url = this.url(path);
    const headers = { ...this.authHeaders(), ...(init.headers as Record<string, string> | undefined) };
    try {
      return await this.#fetch(url, { ...init, method, headers });
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason;
      throw new ReconConnectionError(this.baseUrl, error);
    }
  }

  /** A JSON request (`json` is sent as the body); a problem answer throws ReconApiError. */
  request<T>(method: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
    return this.#json(method, path, init);
  }

  async #json<T>(method: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
    const { json, ...rest } = init;
    const response = await this.send(method, path, {
      ...rest,
      ...(json !== undefined && { body: JSON.stringify(json), headers: { 'content-type': 'application/json' } }),
    });
    return this.#parse<T>(response.status, await response.text(), method, this.url(path));
  }

  #parse<T>(status: number, text: string, method: string, url: string): T {
    const body = parseBody(text);
    if (status < 200 || status >= 300) throw new ReconApiError(status, body, { method, url });
    return body as T;
  }

  async #ensureOk(response: Response, method: string, path: string) {
    if (response.ok) return response;
    throw new ReconApiError(response.status, parseBody(await response.text().catch(() => '')), { method, url: this.url(path) });
  }

  health(options: { signal?: AbortSignal } = {}): Promise<Health> {
    return this.#json('GET', '/api/health', options);
  }

  engines(options: { signal?: AbortSignal } = {}): Promise<EnginesList> {
    return this.#json('GET', '/api/engines', options);
  }

  /**
   * The live workers: name, engines they take, runs they hold, last heartbeat, version.
   * @example const { workers } = await client.workers(); workers.filter((w) => w.engines.includes('colmap')).length
   */
  workers(options: { signal?: AbortSignal } = {}): Promise<WorkersList> {
    return this.#json('GET', '/api/workers', options);
  }

  list(options: ListRunsOptions = {}, init: { signal?: AbortSignal } = {}): Promise<RunList> {
    const query = new URLSearchParams();
    if (options.status) query.set('status', [options.status].flat().join(','));
    if (options.engine) query.set('engine', options.engine);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.offset !== undefined) query.set('offset', String(options.offset));
    const qs = query.toString();
    return this.#json('GET', `/api/runs${qs ? `?${qs}` : ''}`, init);
  }

  get(runId: string, options: { signal?: AbortSignal } = {}): Promise<RunView> {
    return this.#json('GET', `/api/runs/${encodeURIComponent(runId)}`, options);
  }

  /** Same as `get` (the name the first client used). */
  getRun(runId: string, options: { signal?: AbortSignal } = {}): Promise<RunView> {
    return this.get(runId, options);
  }

  createRun(input: CreateRunInput = {}, options: { signal?: AbortSignal } = {}): Promise<RunView> {
    return this.#json('POST', '/api/runs', { ...options, json: input });
  }

  /**
   * Uploads images to a run, streaming each file and reporting progress: XMLHttpRequest in
   * browsers, a counted streaming fetch body elsewhere.
   */
  async uploadImages(
    runId: string,
    items: UploadItem[],
    options: { onProgress?: (progress: UploadProgress) => void; signal?: AbortSignal } = {},
  ): Promise<UploadResult> {
    return this.uploadFiles(`/api/runs/${encodeURIComponent(runId)}/images`, items, options);
  }

  /** POSTs files as multipart/form-data to `path`, streaming them with progress; the JSON answer. */
  async uploadFiles<T>(path: string, items: UploadItem[], options: { onProgress?: (progress: UploadProgress) => void; signal?: AbortSignal } = {}): Promise<T> {
    const Xhr = browserXhr();
    if (Xhr) {
      try {
        const { status, text } = await xhrUpload(Xhr, this.url(path), this.authHeaders(), items, options);
        return this.#parse(status, text, 'POST', this.url(path));
      } catch (error) {
        if (error instanceof ReconApiError || options.signal?.aborted) throw error;
        throw new ReconConnectionError(this.baseUrl, error);
      }
    }
    const { body, contentType, total } = multipartStream(items, options.onProgress);
    const response = await this.send('POST', path, {
      body,
      headers: { 'content-type': contentType, 'content-length': String(total) },
      duplex: 'half',
      ...(options.signal && { signal: options.signal }),
    } as RequestInit);
    return this.#parse(response.status, await response.text(), 'POST', this.url(path));
  }

  process(runId: string, options: { signal?: AbortSignal } = {}): Promise<ProcessResult> {
    return this.#json('POST', `/api/runs/${encodeURIComponent(runId)}/process`, options);
  }

  /** Create, upload and queue in one go; returns the queued run. */
  async submit(input: SubmitInput): Promise<RunView> {
    const { files, onUploadProgress, signal, ...create } = input;
    const run = await this.createRun(create, { ...(signal && { signal }) });
    await this.uploadImages(run.runId, files, { ...(onUploadProgress && { onProgress: onUploadProgress }), ...(signal && { signal }) });
    await this.process(run.runId, { ...(signal && { signal }) });
    return this.get(run.runId, { ...(signal && { signal }) });
  }

  cancel(runId: string, options: { signal?: AbortSignal } = {}): Promise<RunView> {
    return this.#json('POST', `/api/runs/${encodeURIComponent(runId)}/cancel`, options);
  }

  /** A new run on the same images; `settings` are merged over the parent's (same engine). */
  rerun(runId: string, input: RerunInput = {}, options: { signal?: AbortSignal } = {}): Promise<RunView> {
    return this.#json('POST', `/api/runs/${encodeURIComponent(runId)}/rerun`, { ...options, json: input ?? {} });
  }

  async delete(runId: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#json('DELETE', `/api/runs/${encodeURIComponent(runId)}`, options);
  }

  cameras(runId: string, options: { signal?: AbortSignal } = {}): Promise<Cameras> {
    return this.#json('GET', `/api/runs/${encodeURIComponent(runId)}/cameras`, options);
  }

  predictionsMetadata(runId: string, options: { signal?: AbortSignal } = {}): Promise<PredictionsMetadata> {
    return this.#json('GET', `/api/runs/${encodeURIComponent(runId)}/predictions/metadata`, options);
  }

  artifactPath(runId: string, type: ArtifactKind) {
    return `/api/runs/${encodeURIComponent(runId)}/artifacts/${encodeURIComponent(type)}`;
  }

  /** The artifact's response, checked (a problem answer throws ReconApiError); the body is not read. */
  async fetchArtifact(runId: string, type: ArtifactKind, options: { signal?: AbortSignal; headers?: Record<string, string> } = {}) {
    const path = this.artifactPath(runId, type);
    const response = await this.send('GET', path, options);
    return this.#ensureOk(response, 'GET', path);
  }

  /** Downloads an artifact into memory (a Blob; for files on disk in Node see `downloadTo` in node.ts). */
  async download(runId: string, type: ArtifactKind, options: { signal?: AbortSignal } = {}): Promise<Blob> {
    return (await this.fetchArtifact(runId, type, options)).blob();
  }

  /**
   * Follows the run's event stream until the run finishes. Resumes with Last-Event-ID after a
   * dropped or silent connection, so no event is lost or repeated. Throws StreamUnavailableError
   * when the stream cannot be used (then `wait` polls instead), ReconApiError for 4xx answers.
   */
  events(runId: string, options: EventsOptions = {}): AsyncGenerator<RunStreamEvent> {
    return this.followStream<RunStreamEvent>(`/api/runs/${encodeURIComponent(runId)}/stream`, (event) => event.type === 'status' && isTerminalStatus(event.status), options);
  }

  /**
   * Follows any of the server's event streams (a run's, a blueprint's) until `isFinal` says an
   * event ends it or the server answers 204; resumes after drops as `events` describes.
   */
  async *followStream<E extends { id: number }>(path: string, isFinal: (event: E) => boolean, options: EventsOptions = {}): AsyncGenerator<E> {
    const { signal, idleTimeoutMs = 45_000, maxFailures = 5, retryDelayMs = 250 } = options;
    let lastId = options.lastEventId ?? 0;
    let failures = 0;
    const fail = async (reason: string, cause?: unknown) => {
      failures++;
      if (failures >= maxFailures) throw new StreamUnavailableError(`${reason} (${failures} attempts)`, { cause });
      await delay(Math.min(5000, retryDelayMs * 2 ** (failures - 1)), signal);
    };
    while (!signal?.aborted) {
      const connection = new AbortController();
      const abort = () => connection.abort(signal?.reason);
      signal?.addEventListener('abort', abort, { once: true });
      let idle: ReturnType<typeof setTimeout> | undefined;
      const touch = () => {
        clearTimeout(idle);
        idle = setTimeout(() => connection.abort(new Error('stream idle')), idleTimeoutMs);
      };
      try {
        let response: Response;
        try {
          touch();
          response = await this.send('GET', path, {
            headers: { accept: 'text/event-stream', ...(lastId && { 'last-event-id': String(lastId) }) },
            signal: connection.signal,
          });
        } catch (error) {
          if (signal?.aborted) return;
          await fail(error instanceof Error ? error.message : String(error), error);
          continue;
        }
        if (response.status === 204) return;
        if (!response.ok) {
          const error = new ReconApiError(response.status, parseBody(await response.text().catch(() => '')), {
            method: 'GET',
            url: this.url(path),
          });
          if (response.status < 500 && response.status !== 408 && response.status !== 429) throw error;
          await fail(`HTTP ${response.status}`, error);
          continue;
        }
        const type = response.headers.get('content-type') ?? '';
        if (!type.includes('text/event-stream') || !response.body) {
          await response.body?.cancel().catch(() => {});
          throw new StreamUnavailableError(`the server answered ${type || 'without a content type'} instead of text/event-stream`);
        }
        const parser = new SseParser();
        const decoder = new TextDecoder();
        const reader = response.body.getReader();
        let received = 0;
        let finished = false;
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            touch();
            for (const message of parser.push(decoder.decode(value, { stream: true }))) {
              if (message.id !== undefined && /^\d+$/.test(message.id)) lastId = Number(message.id);
              let data: Record<string, unknown>;
              try {
                data = JSON.parse(message.data);
              } catch {
                continue;
              }
              received++;
              failures = 0;
              const event = { ...data, id: lastId } as unknown as E;
              yield event;
              if (isFinal(event)) finished = true;
            }
            if (finished) return;
          }
        } catch (error) {
          if (signal?.aborted) return;
          // A dropped or idle connection: resume from lastId below.
          if (!received) await fail(error instanceof Error ? error.message : String(error), error);
          continue;
        } finally {
          reader.cancel().catch(() => {});
        }
        // The server closed the stream before its end (a restart, a proxy timeout): resume.
        if (!received) await fail('the stream closed without sending events');
      } finally {
        clearTimeout(idle);
        signal?.removeEventListener('abort', abort);
        connection.abort();
      }
    }
  }

  /**
   * Waits for the run to finish and returns it (completed, failed or canceled), reporting every
   * event on the way. Follows the event stream; polls GET /api/runs/:id if the stream cannot be used.
   */
  async wait(runId: string, options: WaitOptions = {}): Promise<RunView> {
    const { signal } = options;
    if (options.stream !== false) {
      try {
        for await (const event of this.events(runId, options)) options.onEvent?.(event);
        signal?.throwIfAborted();
        const run = await this.get(runId, { ...(signal && { signal }) });
        if (isTerminalStatus(run.status)) return run;
      } catch (error) {
        if (!(error instanceof StreamUnavailableError)) throw error;
        options.onFallback?.(error);
      }
    }
    return this.#poll(runId, options);
  }

  async #poll(runId: string, options: WaitOptions): Promise<RunView> {
    const { signal, pollIntervalMs = 1000 } = options;
    let previous: RunView | undefined;
    let failures = 0;
    for (;;) {
      signal?.throwIfAborted();
      let run: RunView;
      try {
        run = await this.get(runId, { ...(signal && { signal }) });
        failures = 0;
      } catch (error) {
        if (!(error instanceof ReconConnectionError) || ++failures >= 10) throw error;
        await delay(pollIntervalMs, signal);
        continue;
      }
      const base = { id: 0, runId, at: new Date().toISOString(), polled: true };
      if (!previous || previous.status !== run.status || previous.stage !== run.stage) {
        options.onEvent?.({
          ...base,
          type: 'status',
          status: run.status,
          stage: run.stage,
          progress: run.progress,
          message: run.message,
          ...(run.error && { error: run.error }),
          ...(run.errorHint && { errorHint: run.errorHint }),
        });
      } else if ((previous.progress !== run.progress || previous.message !== run.message) && run.stage) {
        options.onEvent?.({ ...base, type: 'progress', stage: run.stage, progress: run.progress, message: run.message });
      }
      if (isTerminalStatus(run.status)) return run;
      previous = run;
      await delay(pollIntervalMs, signal);
    }
  }
}
