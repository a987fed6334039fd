import type { Kysely, Transaction } from 'kysely';
import { ACTIVE_JOB_STATUSES, type JobKind, type Rating } from '../domain/blueprint-model.ts';
import type { BlueprintJobRow, BlueprintJobUpdate, NewBlueprintJobRow } from './blueprint-tables.ts';
import type { Database } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface PromptStats {
  promptId: string;
  generations: number;
  completed: number;
  approved: number;
  rejected: number;
  needsRefinement: number;
}

/** fal jobs of blueprints (generations, suggestions, prompt evolutions): every query on blueprint_jobs. */
export class BlueprintJobsRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.#db.transaction().execute(work);
  }

  async insert(rows: NewBlueprintJobRow[], db: Db = this.#db): Promise<void> {
    if (rows.length) await db.insertInto('blueprint_jobs').values(rows).execute();
  }

  find(id: string, db: Db = this.#db): Promise<BlueprintJobRow | undefined> {
    return db.selectFrom('blueprint_jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Locks the job for the rest of the transaction: the worker, a webhook and a cancel never interleave. */
  findForUpdate(id: string, trx: Transaction<Database>): Promise<BlueprintJobRow | undefined> {
    return trx.selectFrom('blueprint_jobs').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  }

  findByRequestIdForUpdate(requestId: string, trx: Transaction<Database>): Promise<BlueprintJobRow | undefined> {
    return trx.selectFrom('blueprint_jobs').selectAll().where('request_id', '=', requestId).forUpdate().executeTakeFirst();
  }

  async update(id: string, changes: BlueprintJobUpdate, db: Db = this.#db): Promise<void> {
    await db
      .updateTable('blueprint_jobs')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  }

  list(blueprintId: string, kind?: JobKind, db: Db = this.#db): Promise<BlueprintJobRow[]> {
    let query = db.selectFrom('blueprint_jobs').selectAll().where('blueprint_id', '=', blueprintId);
    if (kind) query = query.where('kind', '=', kind);
    return query.orderBy('created_at').orderBy('id').execute();
  }

  /** Just what the blueprint's status follows from, for each generation (no payloads read). */
  generationStates(blueprintId: string, db: Db = this.#db) {
    return db
      .selectFrom('blueprint_jobs')
      .select(['status', 'rating', 'object_id', 'defect_id'])
      .where('blueprint_id', '=', blueprintId)
      .where('kind', '=', 'generation')
      .execute();
  }

  async countGenerations(blueprintId: string, db: Db = this.#db): Promise<number> {
    const row = await db
      .selectFrom('blueprint_jobs')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('blueprint_id', '=', blueprintId)
      .where('kind', '=', 'generation')
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** Every job not yet finished, oldest first: what start-up recovery puts back in the queue. */
  active(): Promise<BlueprintJobRow[]> {
    return this.#db.selectFrom('blueprint_jobs').selectAll().where('status', 'in', ACTIVE_JOB_STATUSES).orderBy('created_at').execute();
  }

  activeFor(blueprintId: string, db: Db = this.#db): Promise<BlueprintJobRow[]> {
    return db.selectFrom('blueprint_jobs').selectAll().where('blueprint_id', '=', blueprintId).where('status', 'in', ACTIVE_JOB_STATUSES).execute();
  }

  /** The ratings (with feedback) of the generations made with these prompts. */
  async ratings(promptIds: string[]): Promise<{ rating: Rating; feedback: string | null }[]> {
    if (!promptIds.length) return [];
    const rows = await this.#db
      .selectFrom('blueprint_jobs')
      .select(['rating', 'feedback'])
      .where('prompt_id', 'in', promptIds)
      .where('rating', 'is not', null)
      .orderBy('rated_at')
      .execute();
    return rows.map((r) => ({ rating: r.rating!, feedback: r.feedback }));
  }

  async promptStats(blueprintId: string): Promise<PromptStats[]> {
    const rows = await this.#db
      .selectFrom('blueprint_jobs')
      .select((eb) => [
        'prompt_id',
        eb.fn.countAll<number>().as('generations'),
        eb.fn.count<number>(eb.case().when('status', '=', 'completed').then(1).end()).as('completed'),
        eb.fn.count<number>(eb.case().when('rating', '=', 'approved').then(1).end()).as('approved'),
        eb.fn.count<number>(eb.case().when('rating', '=', 'rejected').then(1).end()).as('rejected'),
        eb.fn.count<number>(eb.case().when('rating', '=', 'needs_refinement').then(1).end()).as('needs_refinement'),
      ])
      .where('blueprint_id', '=', blueprintId)
      .where('kind', '=', 'generation')
      .where('prompt_id', 'is not', null)
      .groupBy('prompt_id')
      .execute();
    return rows.map((r) => ({
      promptId: r.prompt_id!,
      generations: Number(r.generations),
      completed: Number(r.completed),
      approved: Number(r.approved),
      rejected: Number(r.rejected),
      needsRefinement: Number(r.needs_refinement),
    }));
  }
}
