import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table batches (
      id text primary key,
      owner text,
      webhook_url text,
      created_at timestamptz not null default now(),
      completed_at timestamptz
    )`.execute(db);
  // A join table keeps the runs schema untouched; a deleted run simply leaves its batch.
  await sql`
    create table batch_runs (
      batch_id text not null references batches(id) on delete cascade,
      run_id text not null references runs(id) on delete cascade,
      position integer not null,
      primary key (batch_id, run_id)
    )`.execute(db);
  await sql`create index batch_runs_by_run on batch_runs (run_id)`.execute(db);
}
