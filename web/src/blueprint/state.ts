import type { BlueprintCapabilities, BlueprintStreamEvent, BlueprintView } from '../../../src/sdk/client.ts';
import { blueprintApi } from '../api.ts';

export type { BlueprintView, BlueprintCapabilities };
export type Generation = BlueprintView['generations'][number];

/** What fal last said about a job that is still running: its queue position and newest log line. */
export interface LiveJob {
  falState: string | null;
  queuePosition: number | null;
  log: string | undefined;
}

const ACTIVE = new Set(['queued', 'submitting', 'submitted']);
export const isActive = (status: string) => ACTIVE.has(status);

/**
 * The blueprint a page shows, kept fresh: reloaded after the page's own changes, and — while
 * jobs run — after the events the blueprint's stream sends (throttled), with fal's queue
 * positions kept from the progress events in between.
 */
export class BlueprintState {
  readonly id: string;
  view!: BlueprintView;
  capabilities!: BlueprintCapabilities;
  readonly live = new Map<string, LiveJob>();
  readonly #listeners = new Set<() => void>();
  #source: EventSource | undefined;
  #lastEventId = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(id: string) {
    this.id = id;
  }

  async load(): Promise<void> {
    [this.view, this.capabilities] = await Promise.all([blueprintApi.client().get(this.id), blueprintApi.client().capabilities()]);
    this.#follow();
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Takes a fresh view (from an answer) or fetches one, then tells every section. */
  async refresh(view?: BlueprintView): Promise<void> {
    this.view = view ?? (await blueprintApi.client().get(this.id));
    for (const job of [...this.view.generations, ...this.view.suggestions, ...this.view.evolutions]) if (!isActive(job.status)) this.live.delete(job.id);
    for (const listener of this.#listeners) listener();
    this.#follow();
  }

  get busy(): boolean {
    return [...this.view.generations, ...this.view.suggestions, ...this.view.evolutions].some((job) => isActive(job.status));
  }

  close() {
    this.#closed = true;
    this.#source?.close();
    clearTimeout(this.#timer);
  }

  /** Listens to the stream while something runs; the server ends it when everything has settled. */
  #follow() {
    if (this.#closed || this.#source || !this.busy) return;
    const source = new EventSource(blueprintApi.streamUrl(this.id, this.#lastEventId));
    this.#source = source;
    source.onmessage = (message) => {
      this.#lastEventId = Number(message.lastEventId) || this.#lastEventId;
      const event = JSON.parse(message.data) as BlueprintStreamEvent;
      if (event.type === 'progress' && event.jobId) {
        this.live.set(event.jobId, { falState: event.falState ?? null, queuePosition: event.queuePosition ?? null, log: event.logs?.at(-1) ?? this.live.get(event.jobId)?.log });
      }
      this.#schedule();
    };
    source.onerror = () => {
      // Closed by the server (nothing left to follow) or dropped: stop, and reload to see which.
      source.close();
      this.#source = undefined;
      this.#schedule();
    };
  }

  #schedule() {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closed) void this.refresh().catch(() => {});
    }, 300);
  }
}
