import { type Kysely, sql } from 'kysely';

/**
 * A run is an ordered list of stages, each an engine with its own job, status, timings, worker and
 * cost. One row per stage; a plain engine run has one. Runs made before this migration get their
 * one stage, with the state the run itself records.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table run_stages (
      run_id text not null references runs(id) on delete cascade,
      position integer not null,
      name text not null,
      engine text not null,
      settings jsonb not null,
      status text not null default 'pending',
      progress double precision not null default 0,
      message text,
      details jsonb,
      summary jsonb,
      attempt integer not null default 0,
      worker text,
      cost_per_hour double precision,
      seconds double precision not null default 0,
      cost double precision not null default 0,
      error text,
      error_hint text,
      reused_from text,
      started_at timestamptz,
      attempt_started_at timestamptz,
      finished_at timestamptz,
      primary key (run_id, position)
    )`.execute(db);
  await sql`create index run_stages_waiting on run_stages (engine) where status = 'waiting'`.execute(db);
  await sql`
    insert into run_stages (run_id, position, name, engine, settings, status, progress, message, attempt, seconds, error, error_hint, started_at, finished_at)
    select id, 0, engine, engine, settings,
      case
        when status in ('completed', 'failed', 'canceled') then status
        when job_token is null then 'pending'
        when stage = 'waiting' then 'waiting'
        else 'running'
      end,
      progress, message, attempt,
      coalesce(extract(epoch from (finished_at - started_at)), 0),
      error, error_hint, started_at, finished_at
    from runs`.execute(db);
}
