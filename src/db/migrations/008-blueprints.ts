import { type Kysely, sql } from 'kysely';

/**
 * Defect blueprints: product photos ("objects"), defect classes, regions per object × defect,
 * immutable prompts with lineage, fal jobs (generations, suggestions, prompt evolutions) with
 * everything needed to resume them after a crash, an event log for SSE, user templates, exports.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table blueprints (
      id text primary key,
      owner text,
      name text not null,
      product_type text,
      model text not null,
      status text not null default 'draft',
      webhook_url text,
      split_seed integer not null,
      next_category_id integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index blueprints_by_owner on blueprints (owner, created_at desc)`.execute(db);
  await sql`
    create table blueprint_objects (
      id text primary key,
      blueprint_id text not null references blueprints(id) on delete cascade,
      name text not null,
      content_type text not null,
      width integer not null,
      height integer not null,
      bytes bigint not null,
      sha256 text not null,
      blob_key text not null,
      position integer not null,
      created_at timestamptz not null default now(),
      unique (blueprint_id, position)
    )`.execute(db);
  await sql`
    create table blueprint_defects (
      id text primary key,
      blueprint_id text not null references blueprints(id) on delete cascade,
      category_id integer not null,
      name text not null,
      description text,
      rationale text,
      source text not null,
      template text,
      created_at timestamptz not null default now(),
      unique (blueprint_id, category_id)
    )`.execute(db);
  await sql`create unique index blueprint_defects_name on blueprint_defects (blueprint_id, lower(name))`.execute(db);
  await sql`
    create table blueprint_regions (
      id text primary key,
      blueprint_id text not null references blueprints(id) on delete cascade,
      object_id text not null references blueprint_objects(id) on delete cascade,
      defect_id text not null references blueprint_defects(id) on delete cascade,
      kind text not null,
      bbox jsonb not null,
      area integer not null,
      mask_key text not null,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index blueprint_regions_cell on blueprint_regions (blueprint_id, object_id, defect_id)`.execute(db);
  await sql`
    create table blueprint_prompts (
      id text primary key,
      blueprint_id text not null references blueprints(id) on delete cascade,
      defect_id text not null references blueprint_defects(id) on delete cascade,
      parent_id text references blueprint_prompts(id),
      text text not null,
      strategy text not null,
      note text,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index blueprint_prompts_by_defect on blueprint_prompts (defect_id, created_at)`.execute(db);
  await sql`
    create table blueprint_jobs (
      id text primary key,
      blueprint_id text not null references blueprints(id) on delete cascade,
      kind text not null,
      status text not null,
      object_id text references blueprint_objects(id) on delete cascade,
      defect_id text references blueprint_defects(id) on delete cascade,
      region_id text references blueprint_regions(id) on delete cascade,
      prompt_id text references blueprint_prompts(id) on delete cascade,
      endpoint text not null,
      seed bigint,
      params jsonb not null default '{}',
      attempt integer not null default 0,
      request_id text unique,
      webhook_token text not null,
      submit_started_at timestamptz,
      submitted_at timestamptz,
      fal_state text,
      queue_position integer,
      fal_payload jsonb,
      result jsonb,
      image_key text,
      mask_key text,
      bbox jsonb,
      area integer,
      error text,
      error_hint text,
      field_errors jsonb,
      rating text,
      feedback text,
      rated_at timestamptz,
      job_token text,
      created_at timestamptz not null default now(),
      started_at timestamptz,
      finished_at timestamptz,
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index blueprint_jobs_by_blueprint on blueprint_jobs (blueprint_id, kind, created_at)`.execute(db);
  await sql`create index blueprint_jobs_active on blueprint_jobs (status) where status in ('queued', 'submitting', 'submitted')`.execute(db);
  await sql`
    create table blueprint_events (
      id bigserial primary key,
      blueprint_id text not null references blueprints(id) on delete cascade,
      at timestamptz not null default now(),
      type text not null,
      data jsonb not null
    )`.execute(db);
  await sql`create index blueprint_events_by_blueprint on blueprint_events (blueprint_id, id)`.execute(db);
  // Like run events: every new event wakes listeners in any process (SSE, a job waiting for its webhook).
  await sql`
    create function recon_notify_blueprint_event() returns trigger language plpgsql as $$
    begin
      perform pg_notify('recon_blueprint_events', new.blueprint_id || ':' || new.id || ':' || new.type);
      return new;
    end $$`.execute(db);
  await sql`
    create trigger blueprint_events_notify after insert on blueprint_events
    for each row execute function recon_notify_blueprint_event()`.execute(db);
  await sql`
    create table blueprint_templates (
      id text not null,
      version integer not null,
      owner text not null,
      name text not null,
      product_type text,
      defects jsonb not null,
      created_at timestamptz not null default now(),
      primary key (id, version)
    )`.execute(db);
  await sql`create index blueprint_templates_by_owner on blueprint_templates (owner, id, version desc)`.execute(db);
  await sql`
    create table blueprint_exports (
      id text primary key,
      blueprint_id text not null references blueprints(id) on delete cascade,
      options jsonb not null,
      blob_key text not null,
      bytes bigint not null,
      sha256 text not null,
      summary jsonb not null,
      created_at timestamptz not null default now()
    )`.execute(db);
}
