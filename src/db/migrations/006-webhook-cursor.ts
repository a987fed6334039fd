import { type Kysely, sql } from 'kysely';

/** How far the webhook dispatcher has read the run event log, so a restart picks up what it missed. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table webhook_dispatch_cursor (
      id integer primary key default 1 check (id = 1),
      last_event_id bigint not null
    )`.execute(db);
}
