import type { Kysely, Transaction } from 'kysely';
import type { RunEvent, RunEventType } from '../domain/run-event.ts';
import type { Database, RunEventRow } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

const toEvent = (row: RunEventRow): RunEvent => ({
  id: Number(row.id),
  runId: row.run_id,
  at: row.at.toISOString(),
  type: row.type,
  data: row.data,
});

/** The run event log: every status, progress, log and retry event, in order. */
export class RunEventsRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async append(runId: string, type: RunEventType, data: Record<string, unknown>, db: Db = this.#db): Promise<number> {
    const row = await db
      .insertInto('run_events')
      .values({ run_id: runId, type, data: JSON.stringify(data) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async after(runId: string, afterId: number, limit = 1000): Promise<RunEvent[]> {
    const rows = await this.#db
      .selectFrom('run_events')
      .selectAll()
      .where('run_id', '=', runId)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toEvent);
  }
}
