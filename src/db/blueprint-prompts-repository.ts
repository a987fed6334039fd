import type { Insertable, Kysely, Transaction } from 'kysely';
import type { BlueprintPromptRow, BlueprintPromptsTable } from './blueprint-tables.ts';
import type { Database } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** Prompts are immutable rows: inserted, read, never updated (an edit is a child). */
export class BlueprintPromptsRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async insert(rows: Insertable<BlueprintPromptsTable>[], db: Db = this.#db): Promise<void> {
    if (rows.length) await db.insertInto('blueprint_prompts').values(rows).execute();
  }

  find(blueprintId: string, id: string, db: Db = this.#db): Promise<BlueprintPromptRow | undefined> {
    return db.selectFrom('blueprint_prompts').selectAll().where('blueprint_id', '=', blueprintId).where('id', '=', id).executeTakeFirst();
  }

  list(blueprintId: string, db: Db = this.#db): Promise<BlueprintPromptRow[]> {
    return db.selectFrom('blueprint_prompts').selectAll().where('blueprint_id', '=', blueprintId).orderBy('created_at').orderBy('id').execute();
  }

  /** The defect's newest prompt: what a generation uses unless told otherwise. */
  latest(defectId: string, db: Db = this.#db): Promise<BlueprintPromptRow | undefined> {
    return db.selectFrom('blueprint_prompts').selectAll().where('defect_id', '=', defectId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
  }
}
