import type { Store } from '../db/database.ts';
import type { RunEventType } from '../domain/run-event.ts';
import { type EventSignal, NotifyHub } from './notify-hub.ts';

export interface RunEventSignal {
  runId: string;
  eventId: number;
  type: RunEventType;
}
type Listener = (signal: RunEventSignal) => void;

export const RUN_EVENTS_CHANNEL = 'recon_run_events';

const runSignal = (signal: EventSignal<RunEventType>): RunEventSignal => ({ runId: signal.scopeId, eventId: signal.eventId, type: signal.type });

/**
 * Fans database notifications about new run events out to whoever watches a run in this process
 * (SSE streams, a worker watching for cancel, caches). Notifications come from a trigger, so
 * events written by any process — a `recon worker` elsewhere — arrive here too.
 */
export class RunEventHub {
  readonly #hub = new NotifyHub<RunEventType>(RUN_EVENTS_CHANNEL);

  start(store: Store): Promise<void> {
    return this.#hub.start(store);
  }

  stop(): Promise<void> {
    return this.#hub.stop();
  }

  watch(runId: string, listener: Listener): () => void {
    return this.#hub.watch(runId, (signal) => listener(runSignal(signal)));
  }

  watchAll(listener: Listener): () => void {
    return this.#hub.watchAll((signal) => listener(runSignal(signal)));
  }
}
