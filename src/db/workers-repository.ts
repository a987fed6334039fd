import { type Kysely, sql } from 'kysely';
import type { Database, WorkerRow } from './schema.ts';

export interface WorkerPresenceRow {
  id: string;
  name: string;
  version: string;
  engines: string[];
  running: string[];
  heartbeatSeconds: number;
}

/** A heartbeat this many intervals old means the worker is gone. */
const MISSED_BEATS = 3;
/** Rows of workers gone this long are deleted. */
const FORGET_AFTER = '1 day';

/** Worker processes and their heartbeats. Times come from the database's clock, so machines need not agree on theirs. */
export class WorkersRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Records a beat, creating the row if it is new (or was forgotten while the worker was cut off). */
  async beat(worker: WorkerPresenceRow): Promise<void> {
    const values = {
      id: worker.id,
      name: worker.name,
      version: worker.version,
      engines: JSON.stringify(worker.engines),
      running: JSON.stringify(worker.running),
      heartbeat_seconds: worker.heartbeatSeconds,
    };
    await this.#db
      .insertInto('workers')
      .values(values)
      .onConflict((oc) => oc.column('id').doUpdateSet({ engines: values.engines, running: values.running, heartbeat_at: sql`now()` }))
      .execute();
  }

  async remove(id: string): Promise<void> {
    await this.#db.deleteFrom('workers').where('id', '=', id).execute();
  }

  /** Workers whose last beat is recent enough, by name; long-gone rows are deleted on the way. */
  async live(): Promise<WorkerRow[]> {
    await this.#db.deleteFrom('workers').where('heartbeat_at', '<', sql<Date>`now() - ${FORGET_AFTER}::interval`).execute();
    return this.#db
      .selectFrom('workers')
      .selectAll()
      .where(sql<boolean>`heartbeat_at > now() - make_interval(secs => heartbeat_seconds * ${MISSED_BEATS})`)
      .orderBy('name')
      .orderBy('started_at')
      .execute();
  }
}
