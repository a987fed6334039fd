import type { Kysely } from 'kysely';
import type { RunStatus } from '../domain/run-status.ts';
import type { BatchRow, Database } from './schema.ts';

/** Batches and their runs (a join table, so the runs schema stays as it is). */
export class BatchesRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async insert(batch: { id: string; owner: string | null; webhookUrl: string | null }, runIds: string[]): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .insertInto('batches')
        .values({ id: batch.id, owner: batch.owner, webhook_url: batch.webhookUrl, created_at: new Date() })
        .execute();
      if (runIds.length) {
        await trx
          .insertInto('batch_runs')
          .values(runIds.map((runId, position) => ({ batch_id: batch.id, run_id: runId, position })))
          .execute();
      }
    });
  }

  find(id: string): Promise<BatchRow | undefined> {
    return this.#db.selectFrom('batches').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async delete(id: string): Promise<void> {
    await this.#db.deleteFrom('batches').where('id', '=', id).execute();
  }

  /** The batch's runs in the order they were given, with their statuses. */
  runs(batchId: string): Promise<{ runId: string; status: RunStatus }[]> {
    return this.#db
      .selectFrom('batch_runs')
      .innerJoin('runs', 'runs.id', 'batch_runs.run_id')
      .select(['batch_runs.run_id as runId', 'runs.status as status'])
      .where('batch_runs.batch_id', '=', batchId)
      .orderBy('batch_runs.position')
      .execute();
  }

  /** Batches holding this run that have not completed yet. */
  async openBatchesOf(runId: string): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('batch_runs')
      .innerJoin('batches', 'batches.id', 'batch_runs.batch_id')
      .select('batches.id')
      .where('batch_runs.run_id', '=', runId)
      .where('batches.completed_at', 'is', null)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Marks the batch completed; only the first caller gets the row back. */
  markCompleted(id: string): Promise<BatchRow | undefined> {
    return this.#db
      .updateTable('batches')
      .set({ completed_at: new Date() })
      .where('id', '=', id)
      .where('completed_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
  }
}
