import { type Kysely, sql, type Transaction } from 'kysely';
import { DONE_STAGE_STATUSES } from '../domain/run-stage.ts';
import type { Database, NewRunStageRow, RunStageRow, RunStageUpdate } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** The stages of runs: every query on run_stages lives here. */
export class RunStagesRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async insert(rows: NewRunStageRow[], db: Db = this.#db): Promise<void> {
    if (rows.length) await db.insertInto('run_stages').values(rows).execute();
  }

  forRun(runId: string, db: Db = this.#db): Promise<RunStageRow[]> {
    return db.selectFrom('run_stages').selectAll().where('run_id', '=', runId).orderBy('position').execute();
  }

  async forRuns(runIds: string[]): Promise<Map<string, RunStageRow[]>> {
    const byRun = new Map<string, RunStageRow[]>(runIds.map((id) => [id, []]));
    if (!runIds.length) return byRun;
    const rows = await this.#db.selectFrom('run_stages').selectAll().where('run_id', 'in', runIds).orderBy('run_id').orderBy('position').execute();
    for (const row of rows) byRun.get(row.run_id)?.push(row);
    return byRun;
  }

  /** The first stage whose outputs the run does not hold yet: the one a job is for. */
  current(runId: string, db: Db = this.#db): Promise<RunStageRow | undefined> {
    return db
      .selectFrom('run_stages')
      .selectAll()
      .where('run_id', '=', runId)
      .where('status', 'not in', [...DONE_STAGE_STATUSES])
      .orderBy('position')
      .limit(1)
      .executeTakeFirst();
  }

  async update(runId: string, position: number, changes: RunStageUpdate, db: Db = this.#db): Promise<void> {
    await db.updateTable('run_stages').set(changes).where('run_id', '=', runId).where('position', '=', position).execute();
  }

  /**
   * Ends the attempt in progress: its seconds (to `end`, default now) are added to the stage's, and
   * seconds × the worker's hourly rate to its cost. Nothing happens when no attempt is open.
   */
  async closeAttempt(runId: string, position: number, db: Db, end?: Date): Promise<void> {
    const until = end ? sql`greatest(${end}::timestamptz, attempt_started_at)` : sql`greatest(now(), attempt_started_at)`;
    await db
      .updateTable('run_stages')
      .set({
        seconds: sql`seconds + extract(epoch from (${until} - attempt_started_at))::float8`,
        cost: sql`cost + extract(epoch from (${until} - attempt_started_at))::float8 / 3600 * coalesce(cost_per_hour, 0)`,
        attempt_started_at: null,
      })
      .where('run_id', '=', runId)
      .where('position', '=', position)
      .where('attempt_started_at', 'is not', null)
      .execute();
  }
}
