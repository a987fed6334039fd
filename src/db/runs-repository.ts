import { type Kysely, sql, type Transaction } from 'kysely';
import type { RunStatus } from '../domain/run-status.ts';
import type { Database, NewRunRow, RunRow, RunUpdate } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface RunListFilter {
  status?: RunStatus[];
  engine?: string;
  owner?: string | null;
  limit: number;
  offset: number;
}

export interface ImageRow {
  name: string;
  bytes: number;
  contentType: string;
}

/** Runs and their images: every query on those tables lives here. */
export class RunsRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.#db.transaction().execute(work);
  }

  async insert(row: NewRunRow, db: Db = this.#db): Promise<void> {
    await db.insertInto('runs').values(row).execute();
  }

  find(id: string, db: Db = this.#db): Promise<RunRow | undefined> {
    return db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Locks the row for the rest of the transaction so status changes never interleave. */
  findForUpdate(id: string, trx: Transaction<Database>): Promise<RunRow | undefined> {
    return trx.selectFrom('runs').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  }

  async update(id: string, changes: RunUpdate, db: Db = this.#db): Promise<void> {
    await db
      .updateTable('runs')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  }

  async delete(id: string, db: Db = this.#db): Promise<void> {
    await db.deleteFrom('runs').where('id', '=', id).execute();
  }

  async list(filter: RunListFilter): Promise<{ rows: RunRow[]; total: number }> {
    let query = this.#db.selectFrom('runs');
    if (filter.status?.length) query = query.where('status', 'in', filter.status);
    if (filter.engine) query = query.where('engine', '=', filter.engine);
    if (filter.owner !== undefined && filter.owner !== null) query = query.where('owner', '=', filter.owner);
    const [rows, count] = await Promise.all([
      query
        .selectAll()
        .orderBy('requested_at', 'desc')
        .orderBy('id', 'desc')
        .limit(filter.limit)
        .offset(filter.offset)
        .execute(),
      query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.total) };
  }

  /** 1-based position among runs whose waiting stage needs the same engine. */
  async queuePosition(run: RunRow): Promise<number> {
    const { ahead } = await this.#db
      .selectFrom('runs')
      .innerJoin('run_stages', (join) => join.onRef('run_stages.run_id', '=', 'runs.id').on('run_stages.status', '=', 'waiting'))
      .select((eb) => eb.fn.countAll<number>().as('ahead'))
      .where('runs.status', '=', 'processing')
      .where('runs.stage', '=', 'waiting')
      .where('run_stages.engine', '=', (eb) =>
        eb.selectFrom('run_stages').select('engine').where('run_id', '=', run.id).where('status', '=', 'waiting').limit(1),
      )
      .where(sql<boolean>`(runs.queued_at, runs.id) < (${run.queued_at}, ${run.id})`)
      .executeTakeFirstOrThrow();
    return Number(ahead) + 1;
  }

  /** Runs a worker held when the process died: what start-up recovery must re-queue. */
  findInterrupted(): Promise<RunRow[]> {
    return this.#db
      .selectFrom('runs')
      .selectAll()
      .where('status', 'in', ['processing', 'fetching', 'uploading'])
      .where('job_token', 'is not', null)
      .orderBy('queued_at')
      .execute();
  }

  /** Runs still taking images, whose folders may hold files of an upload cut short. */
  async acceptingImages(): Promise<string[]> {
    const rows = await this.#db.selectFrom('runs').select('id').where('status', 'in', ['queued', 'uploading']).where('job_token', 'is', null).execute();
    return rows.map((r) => r.id);
  }

  images(runId: string, db: Db = this.#db): Promise<ImageRow[]> {
    return db
      .selectFrom('run_images')
      .select(['name', 'bytes', 'content_type as contentType'])
      .where('run_id', '=', runId)
      .orderBy(sql`name collate "C"`)
      .execute()
      .then((rows) => rows.map((r) => ({ ...r, bytes: Number(r.bytes) })));
  }

  async imageNames(runIds: string[]): Promise<Map<string, string[]>> {
    const byRun = new Map<string, string[]>(runIds.map((id) => [id, []]));
    if (!runIds.length) return byRun;
    const rows = await this.#db
      .selectFrom('run_images')
      .select(['run_id', 'name'])
      .where('run_id', 'in', runIds)
      .orderBy(sql`name collate "C"`)
      .execute();
    for (const row of rows) byRun.get(row.run_id)?.push(row.name);
    return byRun;
  }

  /** Names an upload under way has reserved in the run (their bytes may already be in place). */
  async reservedImageNames(runId: string, db: Db = this.#db): Promise<string[]> {
    const rows = await db.selectFrom('run_uploads').select('name').where('run_id', '=', runId).execute();
    return rows.map((r) => r.name);
  }

  async reserveImageName(runId: string, name: string, uploadId: string, trx: Transaction<Database>): Promise<void> {
    await trx.insertInto('run_uploads').values({ run_id: runId, name, upload_id: uploadId }).execute();
  }

  async releaseReservations(runId: string, uploadId: string, db: Db = this.#db): Promise<void> {
    await db.deleteFrom('run_uploads').where('run_id', '=', runId).where('upload_id', '=', uploadId).execute();
  }

  /** Reservations older than `olderThan`: uploads whose process died before committing or cleaning up. */
  staleReservations(olderThan: Date): Promise<{ runId: string; name: string; uploadId: string }[]> {
    return this.#db
      .selectFrom('run_uploads')
      .select(['run_id as runId', 'name', 'upload_id as uploadId'])
      .where('created_at', '<', olderThan)
      .execute();
  }

  /** Of these run ids, those that have a row (and belong to `owner`, when given). */
  async existing(runIds: string[], owner?: string): Promise<Set<string>> {
    if (!runIds.length) return new Set();
    let query = this.#db.selectFrom('runs').select('id').where('id', 'in', runIds);
    if (owner) query = query.where('owner', '=', owner);
    return new Set((await query.execute()).map((r) => r.id));
  }

  /** Runs whose blobs may be mid-write: taking images, held by a worker, or finished since `since`. */
  async writable(since: Date): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('runs')
      .select('id')
      .where((eb) => eb.or([eb('status', 'in', ['queued', 'uploading']), eb('job_token', 'is not', null), eb('finished_at', '>=', since)]))
      .execute();
    return rows.map((r) => r.id);
  }

  async addImages(runId: string, images: ImageRow[], trx: Transaction<Database>): Promise<void> {
    if (!images.length) return;
    await trx
      .insertInto('run_images')
      .values(images.map((i) => ({ run_id: runId, name: i.name, bytes: i.bytes, content_type: i.contentType })))
      .execute();
  }
}
