import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { Artifacts } from '../domain/artifacts.ts';
import type { RunEventType } from '../domain/run-event.ts';
import type { RunStatus } from '../domain/run-status.ts';
import type { BlueprintTables } from './blueprint-tables.ts';
import type { StageStatus, StageSummary } from '../domain/run-stage.ts';

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
  /** The name of the worker that last took the run. */
  worker: ColumnType<string | null, string | null | undefined, string | null>;
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

export type SessionStatus = 'active' | 'processing' | 'completed' | 'error';
/** What the session's current run answers with when it finishes. */
export type SessionRunMode = 'delta' | 'complete' | 'final';

export interface SessionsTable {
  id: string;
  owner: string | null;
  engine: string;
  status: SessionStatus;
  max_images: number;
  config: Json<Record<string, unknown>>;
  settings: Json<Record<string, unknown>>;
  image_count: Generated<number>;
  image_bytes: ColumnType<number, number | undefined, number>;
  /** Images covered by the last successful run. */
  generated_count: Generated<number>;
  run_mode: SessionRunMode | null;
  last_run_id: string | null;
  /** The last run that completed: what `finalize` answers with when nothing new arrived. */
  result_run_id: string | null;
  run_ids: Json<string[]>;
  error_message: string | null;
  created_at: Timestamp;
  last_activity_at: Timestamp;
}

export interface SessionImagesTable {
  session_id: string;
  name: string;
  bytes: ColumnType<number, number, number>;
  content_type: string;
  created_at: Timestamp;
}

export interface WebhookEndpointsTable {
  id: string;
  owner: string;
  url: string;
  description: string | null;
  events: Json<string[]>;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: NullableTimestamp;
  disabled_at: NullableTimestamp;
  disabled_reason: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WebhookSecretsTable {
  owner: string;
  secret: string;
  created_at: Timestamp;
}

export interface WebhookAttemptRecord {
  at: string;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

export interface WebhookDeliveriesTable {
  id: string;
  owner: string;
  /** The endpoint id, or 'url' for a run's (or batch's) own webhookUrl. */
  target: string;
  endpoint_id: string | null;
  url: string;
  event_type: string;
  event_key: string;
  run_id: string | null;
  batch_id: string | null;
  payload: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: Generated<number>;
  attempt_log: Json<WebhookAttemptRecord[]>;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: NullableTimestamp;
  claim_token: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  delivered_at: NullableTimestamp;
}

export interface BatchesTable {
  id: string;
  owner: string | null;
  webhook_url: string | null;
  created_at: Timestamp;
  completed_at: NullableTimestamp;
}

export interface BatchRunsTable {
  batch_id: string;
  run_id: string;
  position: number;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  /** SHA-256 (hex) of the whole key; the key itself is never stored. */
  hash: string;
  admin: Generated<boolean>;
  created_at: Timestamp;
  revoked_at: NullableTimestamp;
}

export interface Database extends BlueprintTables {
  runs: RunsTable;
  run_images: RunImagesTable;
  run_events: RunEventsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_secrets: WebhookSecretsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  batches: BatchesTable;
  batch_runs: BatchRunsTable;
  sessions: SessionsTable;
  session_images: SessionImagesTable;
  api_keys: ApiKeysTable;
  webhook_dispatch_cursor: { id: Generated<number>; last_event_id: ColumnType<number, number, number> };
  workers: WorkersTable;
  run_uploads: RunUploadsTable;
  run_stages: RunStagesTable;
}

export interface WorkersTable {
  /** One per worker process (its name may be shared, e.g. the host name). */
  id: string;
  name: string;
  version: string;
  engines: Json<string[]>;
  /** Ids of the runs the process holds right now. */
  running: Json<string[]>;
  heartbeat_seconds: number;
  started_at: Timestamp;
  heartbeat_at: Timestamp;
}

/** A name reserved for an image whose bytes are on their way to `images/<name>`. */
export interface RunUploadsTable {
  run_id: string;
  name: string;
  upload_id: string;
  created_at: Timestamp;
}

/** One stage of a run: an engine with its own job, timings, worker and cost (migration 009). */
export interface RunStagesTable {
  run_id: string;
  position: number;
  name: string;
  engine: string;
  settings: Json<Record<string, unknown>>;
  status: ColumnType<StageStatus, StageStatus | undefined, StageStatus>;
  progress: Generated<number>;
  message: string | null;
  /** The last progress report's numbers (iteration, loss, …). */
  details: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  summary: ColumnType<StageSummary | null, string | null | undefined, string | null>;
  attempt: Generated<number>;
  worker: string | null;
  cost_per_hour: number | null;
  seconds: Generated<number>;
  cost: Generated<number>;
  error: string | null;
  error_hint: string | null;
  /** The run whose outputs this stage reuses (rerun from a later stage, or a run started from another). */
  reused_from: string | null;
  started_at: NullableTimestamp;
  /** When the attempt in progress began; null between attempts. */
  attempt_started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
}

export type RunRow = Selectable<RunsTable>;
export type NewRunRow = Insertable<RunsTable>;
export type RunUpdate = Updateable<RunsTable>;
export type RunEventRow = Selectable<RunEventsTable>;
export type RunStageRow = Selectable<RunStagesTable>;
export type NewRunStageRow = Insertable<RunStagesTable>;
export type RunStageUpdate = Updateable<RunStagesTable>;
export type SessionRow = Selectable<SessionsTable>;
export type NewSessionRow = Insertable<SessionsTable>;
export type SessionUpdate = Updateable<SessionsTable>;
export type WebhookEndpointRow = Selectable<WebhookEndpointsTable>;
export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;
export type NewWebhookDeliveryRow = Insertable<WebhookDeliveriesTable>;
export type BatchRow = Selectable<BatchesTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type WorkerRow = Selectable<WorkersTable>;
export type NewApiKeyRow = Insertable<ApiKeysTable>;
