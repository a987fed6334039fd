import { type Kysely, sql, type Transaction } from 'kysely';
import type { BlueprintStatus } from '../domain/blueprint-model.ts';
import type {
  BlueprintDefectRow,
  BlueprintDefectsTable,
  BlueprintObjectRow,
  BlueprintObjectsTable,
  BlueprintRegionRow,
  BlueprintRegionsTable,
  BlueprintRow,
  BlueprintsTable,
} from './blueprint-tables.ts';
import type { Database } from './schema.ts';
import type { Insertable } from 'kysely';

type Db = Kysely<Database> | Transaction<Database>;

/** Blueprints and what they are made of (objects, defects, regions): every query on those tables. */
export class BlueprintsRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.#db.transaction().execute(work);
  }

  async insert(row: Insertable<BlueprintsTable>, db: Db = this.#db): Promise<void> {
    await db.insertInto('blueprints').values(row).execute();
  }

  find(id: string, db: Db = this.#db): Promise<BlueprintRow | undefined> {
    return db.selectFrom('blueprints').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Locks the blueprint for the rest of the transaction: changes to one blueprint never interleave. */
  lock(id: string, trx: Transaction<Database>): Promise<BlueprintRow | undefined> {
    return trx.selectFrom('blueprints').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  }

  async update(id: string, changes: { name?: string; product_type?: string | null; model?: string; webhook_url?: string | null; status?: BlueprintStatus }, db: Db = this.#db) {
    await db
      .updateTable('blueprints')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  }

  /** Hands out the next stable category id (never reused, even after a defect is removed). */
  async takeCategoryId(id: string, trx: Transaction<Database>): Promise<number> {
    const row = await trx
      .updateTable('blueprints')
      .set((eb) => ({ next_category_id: eb('next_category_id', '+', 1) }))
      .where('id', '=', id)
      .returning('next_category_id')
      .executeTakeFirstOrThrow();
    return row.next_category_id - 1;
  }

  async delete(id: string): Promise<void> {
    await this.#db.deleteFrom('blueprints').where('id', '=', id).execute();
  }

  async list(filter: { owner: string | null | undefined; limit: number; offset: number }): Promise<{ rows: BlueprintRow[]; total: number }> {
    let query = this.#db.selectFrom('blueprints');
    if (filter.owner !== undefined && filter.owner !== null) query = query.where('owner', '=', filter.owner);
    const [rows, count] = await Promise.all([
      query.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).offset(filter.offset).execute(),
      query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.total) };
  }

  async addObject(row: Insertable<BlueprintObjectsTable>, db: Db = this.#db): Promise<void> {
    await db.insertInto('blueprint_objects').values(row).execute();
  }

  objects(blueprintId: string, db: Db = this.#db): Promise<BlueprintObjectRow[]> {
    return db
      .selectFrom('blueprint_objects')
      .selectAll()
      .where('blueprint_id', '=', blueprintId)
      .orderBy('position')
      .execute()
      .then((rows) => rows.map((r) => ({ ...r, bytes: Number(r.bytes) })));
  }

  async objectStats(blueprintId: string, db: Db = this.#db): Promise<{ count: number; bytes: number; nextPosition: number }> {
    const row = await db
      .selectFrom('blueprint_objects')
      .select((eb) => [eb.fn.countAll<number>().as('count'), eb.fn.coalesce(eb.fn.sum<number>('bytes'), sql<number>`0`).as('bytes'), eb.fn.max('position').as('last')])
      .where('blueprint_id', '=', blueprintId)
      .executeTakeFirstOrThrow();
    return { count: Number(row.count), bytes: Number(row.bytes), nextPosition: row.last === null ? 0 : Number(row.last) + 1 };
  }

  async deleteObject(blueprintId: string, objectId: string, db: Db = this.#db): Promise<BlueprintObjectRow | undefined> {
    return db.deleteFrom('blueprint_objects').where('blueprint_id', '=', blueprintId).where('id', '=', objectId).returningAll().executeTakeFirst();
  }

  async addDefect(row: Insertable<BlueprintDefectsTable>, db: Db = this.#db): Promise<void> {
    await db.insertInto('blueprint_defects').values(row).execute();
  }

  defects(blueprintId: string, db: Db = this.#db): Promise<BlueprintDefectRow[]> {
    return db.selectFrom('blueprint_defects').selectAll().where('blueprint_id', '=', blueprintId).orderBy('category_id').execute();
  }

  async updateDefect(blueprintId: string, defectId: string, changes: { name?: string; description?: string | null }, db: Db = this.#db) {
    return db
      .updateTable('blueprint_defects')
      .set(changes)
      .where('blueprint_id', '=', blueprintId)
      .where('id', '=', defectId)
      .returningAll()
      .executeTakeFirst();
  }

  async deleteDefect(blueprintId: string, defectId: string, db: Db = this.#db): Promise<boolean> {
    const result = await db.deleteFrom('blueprint_defects').where('blueprint_id', '=', blueprintId).where('id', '=', defectId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async addRegion(row: Insertable<BlueprintRegionsTable>, db: Db = this.#db): Promise<void> {
    await db.insertInto('blueprint_regions').values(row).execute();
  }

  regions(blueprintId: string, db: Db = this.#db): Promise<BlueprintRegionRow[]> {
    return db.selectFrom('blueprint_regions').selectAll().where('blueprint_id', '=', blueprintId).orderBy('created_at').orderBy('id').execute();
  }

  async countRegions(blueprintId: string, db: Db = this.#db): Promise<number> {
    const row = await db
      .selectFrom('blueprint_regions')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('blueprint_id', '=', blueprintId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async deleteRegion(blueprintId: string, regionId: string, db: Db = this.#db): Promise<BlueprintRegionRow | undefined> {
    return db.deleteFrom('blueprint_regions').where('blueprint_id', '=', blueprintId).where('id', '=', regionId).returningAll().executeTakeFirst();
  }
}
