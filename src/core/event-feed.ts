export interface EventFeedDeps<E extends { id: number }> {
  events: { after(scopeId: string, afterId: number, limit: number): Promise<E[]> };
  hub: { watch(scopeId: string, listener: () => void): () => void };
  /** Asked when nothing happened for a while: a deleted run or blueprint writes no final event. */
  exists(scopeId: string): Promise<boolean>;
  /** The event after which the feed ends (a run's terminal status, say). */
  isFinal(event: E): boolean;
  recheckMs?: number;
}

const PAGE = 1000;

/**
 * Follows an event log (a run's, a blueprint's): what is stored after a given event id, then each
 * new event as its notification arrives, in id order with no gaps or repeats. One loop for every
 * reader (SSE streams, interactive sessions, blueprints' progress).
 */
export class EventFeed<E extends { id: number }> {
  readonly #deps: EventFeedDeps<E>;

  constructor(deps: EventFeedDeps<E>) {
    this.#deps = deps;
  }

  /**
   * Batches of events after `afterId`. Ends after the batch holding a final event (by `isFinal`,
   * or the feed's own rule), when the scope is gone, or when `signal` aborts.
   */
  async *follow(scopeId: string, afterId: number, signal: AbortSignal, isFinal = this.#deps.isFinal): AsyncGenerator<E[]> {
    let lastId = afterId;
    let dirty = true;
    let wake: (() => void) | undefined;
    // Watch before the first read, so an event written in between is not missed.
    const unwatch = this.#deps.hub.watch(scopeId, () => {
      dirty = true;
      wake?.();
    });
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        dirty = false;
        const events = await this.#deps.events.after(scopeId, lastId, PAGE);
        if (events.length) {
          lastId = events.at(-1)!.id;
          yield events;
          if (events.some(isFinal)) return;
          if (events.length === PAGE) continue;
        }
        if (dirty || signal.aborted) continue;
        const timedOut = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(true), this.#deps.recheckMs ?? 5000);
          wake = () => {
            clearTimeout(timer);
            resolve(false);
          };
        });
        wake = undefined;
        if (timedOut && !(await this.#deps.exists(scopeId))) return;
      }
    } finally {
      unwatch();
      signal.removeEventListener('abort', onAbort);
    }
  }
}
