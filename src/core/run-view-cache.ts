import type { RunView } from '../contract/runs.ts';

interface Entry {
  owner: string | null;
  view: RunView;
}

/**
 * Recently read run views, so polling clients (the seed's clients poll GET /api/runs/:id) cost
 * no database round trip. Entries are dropped on every event of their run — events are written
 * with every change, and reach every process through LISTEN/NOTIFY — and refreshed by this
 * process's own writes at once. A run waiting in a queue is never cached: its position moves
 * when *other* runs do.
 */
export class RunViewCache {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;
  /** Bumped by every forget: a view read before a change must not be stored after it. */
  #epoch = 0;

  constructor(capacity = 2000) {
    this.#capacity = capacity;
  }

  get(id: string, owner: string | null | undefined): RunView | undefined {
    const entry = this.#entries.get(id);
    if (!entry || (owner && entry.owner !== owner)) return undefined;
    return entry.view;
  }

  /** Taken before reading a run from the database; `set` stores the view only if nothing changed since. */
  ticket(): number {
    return this.#epoch;
  }

  set(owner: string | null, view: RunView, ticket: number): void {
    this.#entries.delete(view.runId);
    if (ticket !== this.#epoch || view.queuePosition !== null) return;
    this.#entries.set(view.runId, { owner, view });
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  forget(id: string): void {
    this.#epoch++;
    this.#entries.delete(id);
  }
}
