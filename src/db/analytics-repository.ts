import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.ts';

export interface EngineSummaryRow {
  engine: string;
  runs: number;
  queued: number;
  processing: number;
  completed: number;
  failed: number;
  canceled: number;
  avgProcessingSeconds: number | null;
  avgImagesPerRun: number | null;
}

export interface StageUsageRow {
  /** What the row adds up: one stage name, one engine, or everything. */
  kind: 'stage' | 'engine' | 'total';
  key: string;
  stages: number;
  completed: number;
  seconds: number;
  avgSeconds: number | null;
  cost: number;
}

export interface SettingValueRow {
  key: string;
  value: unknown;
  runs: number;
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/**
 * Aggregates over runs for analytics and metrics, all computed by the database (Postgres
 * dialect; the same SQL runs on PGlite). `owner` null means every owner.
 */
export class AnalyticsRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Runs waiting for a worker, per engine of the stage they wait to run: the queue depth. */
  async queueDepth(): Promise<Map<string, number>> {
    const { rows } = await sql<{ engine: string; waiting: number }>`
      select s.engine, count(*)::int as waiting from runs r
      join run_stages s on s.run_id = r.id and s.status = 'waiting'
      where r.status = 'processing' and r.stage = 'waiting'
      group by s.engine`.execute(this.#db);
    return new Map(rows.map((r) => [r.engine, Number(r.waiting)]));
  }

  /** Runs a worker holds right now, per engine: with the queue depth, what an autoscaler sizes workers on. */
  async inProgress(): Promise<Map<string, number>> {
    const { rows } = await sql<{ engine: string; running: number }>`
      select engine, count(*)::int as running from runs
      where status in ('processing', 'fetching', 'uploading') and job_token is not null and stage is distinct from 'waiting'
      group by engine`.execute(this.#db);
    return new Map(rows.map((r) => [r.engine, Number(r.running)]));
  }

  async byStatus(owner: string | null): Promise<Record<string, number>> {
    const { rows } = await sql<{ status: string; runs: number }>`
      select status, count(*)::int as runs from runs
      where (${owner}::text is null or owner = ${owner})
      group by status order by status`.execute(this.#db);
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.runs)]));
  }

  /** Per engine, plus one row with engine null for all of them (grouping sets). */
  async perEngine(owner: string | null): Promise<{ total: EngineSummaryRow; engines: EngineSummaryRow[] }> {
    const { rows } = await sql<Record<string, unknown>>`
      with images as (
        select run_id, count(*) as n from run_images group by run_id
      )
      select
        r.engine,
        grouping(r.engine) as is_total,
        count(*)::int as runs,
        count(*) filter (where r.status in ('queued', 'uploading'))::int as queued,
        count(*) filter (where r.status in ('processing', 'fetching'))::int as processing,
        count(*) filter (where r.status = 'completed')::int as completed,
        count(*) filter (where r.status = 'failed')::int as failed,
        count(*) filter (where r.status = 'canceled')::int as canceled,
        avg(extract(epoch from (r.finished_at - r.started_at)))
          filter (where r.status = 'completed' and r.started_at is not null and r.finished_at is not null)::float8 as avg_seconds,
        avg(coalesce(i.n, 0))::float8 as avg_images
      from runs r left join images i on i.run_id = r.id
      where (${owner}::text is null or r.owner = ${owner})
      group by grouping sets ((r.engine), ())
      order by is_total, r.engine`.execute(this.#db);
    const toRow = (r: Record<string, unknown>): EngineSummaryRow => ({
      engine: (r.engine as string | null) ?? '*',
      runs: Number(r.runs),
      queued: Number(r.queued),
      processing: Number(r.processing),
      completed: Number(r.completed),
      failed: Number(r.failed),
      canceled: Number(r.canceled),
      avgProcessingSeconds: num(r.avg_seconds),
      avgImagesPerRun: num(r.avg_images),
    });
    const total = rows.find((r) => Number(r.is_total) === 1);
    return {
      total: total ? toRow(total) : { ...toRow({ runs: 0, queued: 0, processing: 0, completed: 0, failed: 0, canceled: 0 }), engine: '*' },
      engines: rows.filter((r) => Number(r.is_total) !== 1).map(toRow),
    };
  }

  /**
   * Worker time and cost of the stages that ran (reused ones cost their run nothing), per stage
   * name and per engine, plus the total (grouping sets).
   */
  async stageUsage(owner: string | null): Promise<StageUsageRow[]> {
    const { rows } = await sql<Record<string, unknown>>`
      select s.name, s.engine, grouping(s.name) as by_engine, grouping(s.engine) as by_name,
        count(*)::int as stages,
        count(*) filter (where s.status = 'completed')::int as completed,
        coalesce(sum(s.seconds), 0)::float8 as seconds,
        avg(s.seconds) filter (where s.status = 'completed')::float8 as avg_seconds,
        coalesce(sum(s.cost), 0)::float8 as cost
      from run_stages s join runs r on r.id = s.run_id
      where s.status <> 'reused' and (${owner}::text is null or r.owner = ${owner})
      group by grouping sets ((s.name), (s.engine), ())
      order by by_engine, by_name, s.name, s.engine`.execute(this.#db);
    return rows.map((r) => ({
      kind: Number(r.by_engine) === 1 && Number(r.by_name) === 1 ? 'total' : Number(r.by_engine) === 1 ? 'engine' : 'stage',
      key: ((Number(r.by_engine) === 1 ? r.engine : r.name) as string | null) ?? '*',
      stages: Number(r.stages),
      completed: Number(r.completed),
      seconds: Number(r.seconds),
      avgSeconds: num(r.avg_seconds),
      cost: Number(r.cost),
    }));
  }

  /** The most used value of each setting key (and how many runs used it), most used first. */
  async commonSettingValues(owner: string | null, limit = 20): Promise<(SettingValueRow & { engine: string })[]> {
    const { rows } = await sql<{ engine: string; key: string; value: unknown; runs: number }>`
      select engine, key, value, runs from (
        select r.engine, s.key, s.value, count(*)::int as runs,
          row_number() over (partition by r.engine, s.key order by count(*) desc, s.value::text) as rank
        from runs r cross join lateral jsonb_each(r.settings) s
        where (${owner}::text is null or r.owner = ${owner})
        group by r.engine, s.key, s.value
      ) ranked
      where rank = 1
      order by runs desc, engine, key
      limit ${limit}`.execute(this.#db);
    return rows.map((r) => ({ engine: r.engine, key: r.key, value: r.value, runs: Number(r.runs) }));
  }

  /** Whole settings objects, most used first, per engine. */
  async commonSettings(owner: string | null, limit = 5): Promise<{ engine: string; settings: Record<string, unknown>; runs: number }[]> {
    const { rows } = await sql<{ engine: string; settings: Record<string, unknown>; runs: number }>`
      select engine, settings, runs from (
        select engine, settings, count(*)::int as runs,
          row_number() over (partition by engine order by count(*) desc, settings::text) as rank
        from runs
        where (${owner}::text is null or owner = ${owner})
        group by engine, settings
      ) ranked
      where rank <= ${limit}
      order by engine, runs desc`.execute(this.#db);
    return rows.map((r) => ({ engine: r.engine, settings: r.settings, runs: Number(r.runs) }));
  }
}
