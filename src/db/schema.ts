import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { Artifacts, RunEventType, RunStatus } from '../core/run-model.ts';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T> = ColumnType<T, string, string>;

export interface RunsTable {
  id: string;
  owner: string | null;
  engine: string;
  status: RunStatus;
  stage: string | null;
  progress: Generated<number>;
  message: string | null;
  settings: Json<Record<string, unknown>>;
  webhook_url: string | null;
  parent_run_id: string | null;
  error: string | null;
  error_hint: string | null;
  attempt: Generated<number>;
  job_token: string | null;
  artifacts: Json<Artifacts>;
  requested_at: Timestamp;
  queued_at: NullableTimestamp;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  updated_at: Timestamp;
}

export interface RunImagesTable {
  run_id: string;
  name: string;
  bytes: ColumnType<number, number, number>;
  content_type: string;
  created_at: Timestamp;
}

export interface RunEventsTable {
  id: Generated<number>;
  run_id: string;
  at: Timestamp;
  type: RunEventType;
  data: Json<Record<string, unknown>>;
}

export interface Database {
  runs: RunsTable;
  run_images: RunImagesTable;
  run_events: RunEventsTable;
}

export type RunRow = Selectable<RunsTable>;
export type NewRunRow = Insertable<RunsTable>;
export type RunUpdate = Updateable<RunsTable>;
export type RunEventRow = Selectable<RunEventsTable>;
