import type { Kysely } from 'kysely';
import type { ApiKeyRow, Database, NewApiKeyRow } from './schema.ts';

/** API keys (hashed): every query on that table lives here. */
export class ApiKeysRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async insert(row: NewApiKeyRow): Promise<void> {
    await this.#db.insertInto('api_keys').values(row).execute();
  }

  findActive(id: string): Promise<ApiKeyRow | undefined> {
    return this.#db.selectFrom('api_keys').selectAll().where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  }

  list(options: { includeRevoked: boolean; id?: string }): Promise<ApiKeyRow[]> {
    let query = this.#db.selectFrom('api_keys').selectAll();
    if (!options.includeRevoked) query = query.where('revoked_at', 'is', null);
    if (options.id) query = query.where('id', '=', options.id);
    return query.orderBy('created_at').orderBy('id').execute();
  }

  async countActive(): Promise<number> {
    const { n } = await this.#db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(n);
  }

  /** True when an active key was revoked now. */
  async revoke(id: string): Promise<boolean> {
    const result = await this.#db
      .updateTable('api_keys')
      .set({ revoked_at: new Date() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
