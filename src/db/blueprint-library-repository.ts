import type { Insertable, Kysely, Transaction } from 'kysely';
import type { BlueprintExportRow, BlueprintExportsTable, BlueprintTemplateRow } from './blueprint-tables.ts';
import type { Database } from './schema.ts';

/** User-defined defect templates (every version kept) and the dataset exports made from blueprints. */
export class BlueprintLibraryRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async insertTemplate(row: { id: string; version: number; owner: string; name: string; product_type: string | null; defects: { name: string; description: string }[] }) {
    await this.#db
      .insertInto('blueprint_templates')
      .values({ ...row, defects: JSON.stringify(row.defects) })
      .execute();
  }

  /** The latest version of each of the owner's templates. */
  async templates(owner: string): Promise<BlueprintTemplateRow[]> {
    return this.#db
      .selectFrom('blueprint_templates')
      .selectAll()
      .distinctOn('id')
      .where('owner', '=', owner)
      .orderBy('id')
      .orderBy('version', 'desc')
      .execute();
  }

  template(owner: string, id: string, version?: number, db: Kysely<Database> | Transaction<Database> = this.#db): Promise<BlueprintTemplateRow | undefined> {
    let query = db.selectFrom('blueprint_templates').selectAll().where('owner', '=', owner).where('id', '=', id);
    if (version !== undefined) query = query.where('version', '=', version);
    return query.orderBy('version', 'desc').limit(1).executeTakeFirst();
  }

  async insertExport(row: Insertable<BlueprintExportsTable>): Promise<void> {
    await this.#db.insertInto('blueprint_exports').values(row).execute();
  }

  export(blueprintId: string, id: string): Promise<BlueprintExportRow | undefined> {
    return this.#db
      .selectFrom('blueprint_exports')
      .selectAll()
      .where('blueprint_id', '=', blueprintId)
      .where('id', '=', id)
      .executeTakeFirst()
      .then((row) => row && { ...row, bytes: Number(row.bytes) });
  }

  exports(blueprintId: string): Promise<BlueprintExportRow[]> {
    return this.#db
      .selectFrom('blueprint_exports')
      .selectAll()
      .where('blueprint_id', '=', blueprintId)
      .orderBy('created_at', 'desc')
      .execute()
      .then((rows) => rows.map((row) => ({ ...row, bytes: Number(row.bytes) })));
  }
}
