import type { Store } from '../db/database.ts';
import type { RunEventType } from '../domain/run-event.ts';

export interface RunEventSignal {
  runId: string;
  eventId: number;
  type: RunEventType;
}
type Listener = (signal: RunEventSignal) => void;

export const RUN_EVENTS_CHANNEL = 'recon_run_events';

/**
 * Fans database notifications about new run events out to whoever watches a run in this process
 * (SSE streams, a worker watching for cancel, caches). Notifications come from a trigger, so
 * events written by any process — a `recon worker` elsewhere — arrive here too.
 */
export class RunEventHub {
  readonly #byRun = new Map<string, Set<Listener>>();
  readonly #any = new Set<Listener>();
  #unlisten: (() => Promise<void>) | undefined;

  async start(store: Store): Promise<void> {
    this.#unlisten = await store.listen(RUN_EVENTS_CHANNEL, (payload) => this.dispatch(payload));
  }

  async stop(): Promise<void> {
    await this.#unlisten?.();
    this.#unlisten = undefined;
  }

  private dispatch(payload: string) {
    const [runId, eventId, type] = payload.split(':');
    if (!runId || !eventId || !type) return;
    const signal = { runId, eventId: Number(eventId), type: type as RunEventType };
    for (const listener of this.#any) listener(signal);
    for (const listener of this.#byRun.get(runId) ?? []) listener(signal);
  }

  watch(runId: string, listener: Listener): () => void {
    const set = this.#byRun.get(runId) ?? new Set<Listener>();
    this.#byRun.set(runId, set);
    set.add(listener);
    return () => {
      set.delete(listener);
      if (!set.size) this.#byRun.delete(runId);
    };
  }

  watchAll(listener: Listener): () => void {
    this.#any.add(listener);
    return () => this.#any.delete(listener);
  }
}
