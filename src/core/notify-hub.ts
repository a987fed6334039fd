import type { Store } from '../db/database.ts';

/** One notification: which scope (a run, a blueprint) got which event. */
export interface EventSignal<T extends string = string> {
  scopeId: string;
  eventId: number;
  type: T;
}

/**
 * Fans the database notifications of one channel (`<scope id>:<event id>:<type>`, sent by a
 * trigger on an event table) out to whoever watches a scope in this process. Because a trigger
 * sends them, events written by any process arrive here too.
 */
export class NotifyHub<T extends string = string> {
  readonly #channel: string;
  readonly #byScope = new Map<string, Set<(signal: EventSignal<T>) => void>>();
  readonly #any = new Set<(signal: EventSignal<T>) => void>();
  #unlisten: (() => Promise<void>) | undefined;

  constructor(channel: string) {
    this.#channel = channel;
  }

  async start(store: Store): Promise<void> {
    this.#unlisten = await store.listen(this.#channel, (payload) => this.#dispatch(payload));
  }

  async stop(): Promise<void> {
    await this.#unlisten?.();
    this.#unlisten = undefined;
  }

  #dispatch(payload: string) {
    const [scopeId, eventId, type] = payload.split(':');
    if (!scopeId || !eventId || !type) return;
    const signal = { scopeId, eventId: Number(eventId), type: type as T };
    for (const listener of this.#any) listener(signal);
    for (const listener of this.#byScope.get(scopeId) ?? []) listener(signal);
  }

  watch(scopeId: string, listener: (signal: EventSignal<T>) => void): () => void {
    const set = this.#byScope.get(scopeId) ?? new Set();
    this.#byScope.set(scopeId, set);
    set.add(listener);
    return () => {
      set.delete(listener);
      if (!set.size) this.#byScope.delete(scopeId);
    };
  }

  watchAll(listener: (signal: EventSignal<T>) => void): () => void {
    this.#any.add(listener);
    return () => this.#any.delete(listener);
  }
}
