import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table runs (
      id text primary key,
      owner text,
      engine text not null,
      status text not null,
      stage text,
      progress double precision not null default 0,
      message text,
      settings jsonb not null,
      webhook_url text,
      parent_run_id text references runs(id) on delete set null,
      error text,
      error_hint text,
      attempt integer not null default 0,
      job_token text,
      artifacts jsonb not null default '{"available":{},"unavailable":{}}',
      requested_at timestamptz not null default now(),
      queued_at timestamptz,
      started_at timestamptz,
      finished_at timestamptz,
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index runs_requested on runs (requested_at desc, id desc)`.execute(db);
  await sql`create index runs_waiting on runs (engine, queued_at) where status = 'processing'`.execute(db);
  await sql`
    create table run_images (
      run_id text not null references runs(id) on delete cascade,
      name text not null,
      bytes bigint not null,
      content_type text not null,
      created_at timestamptz not null default now(),
      primary key (run_id, name)
    )`.execute(db);
  await sql`
    create table run_events (
      id bigserial primary key,
      run_id text not null references runs(id) on delete cascade,
      at timestamptz not null default now(),
      type text not null,
      data jsonb not null
    )`.execute(db);
  await sql`create index run_events_by_run on run_events (run_id, id)`.execute(db);
  // Every new event wakes listeners in any process (SSE streams, workers watching for cancel).
  await sql`
    create function recon_notify_run_event() returns trigger language plpgsql as $$
    begin
      perform pg_notify('recon_run_events', new.run_id || ':' || new.id || ':' || new.type);
      return new;
    end $$`.execute(db);
  await sql`
    create trigger run_events_notify after insert on run_events
    for each row execute function recon_notify_run_event()`.execute(db);
}
