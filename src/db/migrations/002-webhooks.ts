import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Owners are API key ids; '' is the local user of a server without keys.
  await sql`
    create table webhook_endpoints (
      id text primary key,
      owner text not null,
      url text not null,
      description text,
      events jsonb not null,
      secret text not null,
      previous_secret text,
      previous_secret_until timestamptz,
      disabled_at timestamptz,
      disabled_reason text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index webhook_endpoints_by_owner on webhook_endpoints (owner, created_at)`.execute(db);
  await sql`
    create table webhook_secrets (
      owner text primary key,
      secret text not null,
      created_at timestamptz not null default now()
    )`.execute(db);
  // One row per (target, event): the unique key makes turning an event into deliveries
  // idempotent, whichever process (or how many times) it is seen.
  await sql`
    create table webhook_deliveries (
      id text primary key,
      owner text not null,
      target text not null,
      endpoint_id text references webhook_endpoints(id) on delete cascade,
      url text not null,
      event_type text not null,
      event_key text not null,
      run_id text,
      batch_id text,
      payload text not null,
      status text not null,
      attempts integer not null default 0,
      attempt_log jsonb not null default '[]',
      last_status_code integer,
      last_error text,
      next_attempt_at timestamptz,
      claim_token text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      delivered_at timestamptz,
      unique (target, event_key)
    )`.execute(db);
  await sql`create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending'`.execute(db);
  await sql`create index webhook_deliveries_by_owner on webhook_deliveries (owner, created_at desc)`.execute(db);
}
