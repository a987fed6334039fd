import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table sessions (
      id text primary key,
      owner text,
      engine text not null,
      status text not null,
      max_images integer not null,
      config jsonb not null,
      settings jsonb not null,
      image_count integer not null default 0,
      image_bytes bigint not null default 0,
      generated_count integer not null default 0,
      run_mode text,
      last_run_id text,
      result_run_id text,
      run_ids jsonb not null default '[]',
      error_message text,
      created_at timestamptz not null default now(),
      last_activity_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index sessions_activity on sessions (last_activity_at)`.execute(db);
  await sql`
    create table session_images (
      session_id text not null references sessions(id) on delete cascade,
      name text not null,
      bytes bigint not null,
      content_type text not null,
      created_at timestamptz not null default now(),
      primary key (session_id, name)
    )`.execute(db);
}
