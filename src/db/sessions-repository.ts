import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database, NewSessionRow, SessionRow, SessionUpdate } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface SessionImageRow {
  name: string;
  bytes: number;
  contentType: string;
}

/** Interactive sessions and their images: every query on those tables lives here. */
export class SessionsRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.#db.transaction().execute(work);
  }

  /** Serialises session creation across processes, so the session limit holds under races. */
  async lockCreation(trx: Transaction<Database>): Promise<void> {
    await sql`select pg_advisory_xact_lock(hashtext('recon_sessions_create'))`.execute(trx);
  }

  async insert(row: NewSessionRow, db: Db = this.#db): Promise<void> {
    await db.insertInto('sessions').values(row).execute();
  }

  find(id: string, db: Db = this.#db): Promise<SessionRow | undefined> {
    return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findForUpdate(id: string, trx: Transaction<Database>): Promise<SessionRow | undefined> {
    return trx.selectFrom('sessions').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  }

  async update(id: string, changes: SessionUpdate, db: Db = this.#db): Promise<void> {
    await db.updateTable('sessions').set(changes).where('id', '=', id).execute();
  }

  async touch(id: string, at = new Date()): Promise<void> {
    await this.#db.updateTable('sessions').set({ last_activity_at: at }).where('id', '=', id).execute();
  }

  async delete(id: string, db: Db = this.#db): Promise<boolean> {
    const result = await db.deleteFrom('sessions').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async count(db: Db = this.#db): Promise<number> {
    const row = await db.selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  list(owner: string | null | undefined, limit = 1000): Promise<SessionRow[]> {
    let query = this.#db.selectFrom('sessions').selectAll();
    if (owner) query = query.where('owner', '=', owner);
    return query.orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
  }

  /** Sessions nobody touched since `cutoff`. */
  expired(cutoff: Date): Promise<Pick<SessionRow, 'id'>[]> {
    return this.#db.selectFrom('sessions').select('id').where('last_activity_at', '<', cutoff).execute();
  }

  processing(): Promise<SessionRow[]> {
    return this.#db.selectFrom('sessions').selectAll().where('status', '=', 'processing').execute();
  }

  async images(id: string, db: Db = this.#db): Promise<SessionImageRow[]> {
    const rows = await db
      .selectFrom('session_images')
      .select(['name', 'bytes', 'content_type'])
      .where('session_id', '=', id)
      .execute();
    return rows.map((r) => ({ name: r.name, bytes: Number(r.bytes), contentType: r.content_type }));
  }

  async addImage(id: string, image: SessionImageRow, trx: Transaction<Database>): Promise<void> {
    await trx
      .insertInto('session_images')
      .values({ session_id: id, name: image.name, bytes: image.bytes, content_type: image.contentType })
      .execute();
    await trx
      .updateTable('sessions')
      .set((eb) => ({
        image_count: eb('image_count', '+', 1),
        image_bytes: eb('image_bytes', '+', image.bytes),
        last_activity_at: new Date(),
      }))
      .where('id', '=', id)
      .execute();
  }
}
