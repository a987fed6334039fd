import type { RunEventsRepository } from '../db/run-events-repository.ts';
import type { RunEvent } from '../domain/run-event.ts';
import { isTerminal, type RunStatus } from '../domain/run-status.ts';
import type { RunEventHub } from './run-event-hub.ts';

export interface RunEventFeedDeps {
  events: Pick<RunEventsRepository, 'after'>;
  hub: Pick<RunEventHub, 'watch'>;
  /** Asked when nothing happened for a while: a deleted run writes no final event. */
  runExists(runId: string): Promise<boolean>;
  recheckMs?: number;
}

const PAGE = 1000;

export const isFinalEvent = (event: RunEvent) => event.type === 'status' && isTerminal(event.data.status as RunStatus);

/**
 * Follows a run's event log: what is stored after a given event id, then each new event as its
 * notification arrives, in id order with no gaps or repeats. One loop for every reader (SSE
 * streams, interactive sessions, blueprints' progress).
 */
export class RunEventFeed {
  readonly #deps: RunEventFeedDeps;

  constructor(deps: RunEventFeedDeps) {
    this.#deps = deps;
  }

  /**
   * Batches of events after `afterId`. Ends after the batch holding the run's final status event,
   * when the run is gone, or when `signal` aborts.
   */
  async *follow(runId: string, afterId: number, signal: AbortSignal): AsyncGenerator<RunEvent[]> {
    let lastId = afterId;
    let dirty = true;
    let wake: (() => void) | undefined;
    // Watch before the first read, so an event written in between is not missed.
    const unwatch = this.#deps.hub.watch(runId, () => {
      dirty = true;
      wake?.();
    });
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        dirty = false;
        const events = await this.#deps.events.after(runId, lastId, PAGE);
        if (events.length) {
          lastId = events.at(-1)!.id;
          yield events;
          if (events.some(isFinalEvent)) return;
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
        if (timedOut && !(await this.#deps.runExists(runId))) return;
      }
    } finally {
      unwatch();
      signal.removeEventListener('abort', onAbort);
    }
  }
}
