import type { Kysely, Transaction } from 'kysely';
import type { BlueprintEventRow } from './blueprint-tables.ts';
import type { Database } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface BlueprintEvent {
  id: number;
  blueprintId: string;
  at: string;
  type: string;
  data: Record<string, unknown>;
}

const toEvent = (row: BlueprintEventRow): BlueprintEvent => ({
  id: Number(row.id),
  blueprintId: row.blueprint_id,
  at: row.at.toISOString(),
  type: row.type,
  data: row.data,
});

/** A blueprint's event log (job progress, statuses, ratings…), in order: what its SSE stream replays. */
export class BlueprintEventsRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async append(blueprintId: string, type: string, data: Record<string, unknown>, db: Db = this.#db): Promise<number> {
    const row = await db
      .insertInto('blueprint_events')
      .values({ blueprint_id: blueprintId, type, data: JSON.stringify(data) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async after(blueprintId: string, afterId: number, limit = 1000): Promise<BlueprintEvent[]> {
    const rows = await this.#db
      .selectFrom('blueprint_events')
      .selectAll()
      .where('blueprint_id', '=', blueprintId)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toEvent);
  }

  /** The id of the blueprint's newest event of this type (0 when none). */
  async lastOfType(blueprintId: string, type: string): Promise<number> {
    const row = await this.#db
      .selectFrom('blueprint_events')
      .select((eb) => eb.fn.max('id').as('id'))
      .where('blueprint_id', '=', blueprintId)
      .where('type', '=', type)
      .executeTakeFirst();
    return Number(row?.id ?? 0);
  }

  async find(id: number): Promise<BlueprintEvent | undefined> {
    const row = await this.#db.selectFrom('blueprint_events').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toEvent(row);
  }
}
