import { type Kysely, sql } from 'kysely';

/**
 * What several machines need: the workers that are alive (each process heartbeats its row), which
 * worker ran each run, and upload reservations — a name taken for an image while its bytes stream
 * straight to their place in the blob store, so two uploads never write the same key.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table workers (
      id text primary key,
      name text not null,
      version text not null,
      engines jsonb not null default '[]',
      running jsonb not null default '[]',
      heartbeat_seconds integer not null,
      started_at timestamptz not null default now(),
      heartbeat_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index workers_heartbeat on workers (heartbeat_at)`.execute(db);
  await sql`alter table runs add column worker text`.execute(db);
  await sql`
    create table run_uploads (
      run_id text not null references runs(id) on delete cascade,
      name text not null,
      upload_id text not null,
      created_at timestamptz not null default now(),
      primary key (run_id, name)
    )`.execute(db);
  await sql`create index run_uploads_age on run_uploads (created_at)`.execute(db);
}
