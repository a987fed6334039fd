import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { BlueprintStatus, Box, DefectSource, JobKind, JobStatus, PromptStrategy, Rating, RegionKind } from '../domain/blueprint-model.ts';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T> = ColumnType<T, string, string>;
type NullableJson<T> = ColumnType<T | null, string | null | undefined, string | null>;

export interface BlueprintsTable {
  id: string;
  owner: string | null;
  name: string;
  product_type: string | null;
  model: string;
  status: Generated<BlueprintStatus>;
  webhook_url: string | null;
  split_seed: number;
  next_category_id: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface BlueprintObjectsTable {
  id: string;
  blueprint_id: string;
  name: string;
  content_type: string;
  width: number;
  height: number;
  bytes: ColumnType<number, number, number>;
  sha256: string;
  blob_key: string;
  position: number;
  created_at: Timestamp;
}

export interface BlueprintDefectsTable {
  id: string;
  blueprint_id: string;
  category_id: number;
  name: string;
  description: string | null;
  rationale: string | null;
  source: DefectSource;
  /** `template-id@version` when the defect came from a template. */
  template: string | null;
  created_at: Timestamp;
}

export interface BlueprintRegionsTable {
  id: string;
  blueprint_id: string;
  object_id: string;
  defect_id: string;
  kind: RegionKind;
  bbox: Json<Box>;
  area: number;
  mask_key: string;
  created_at: Timestamp;
}

export interface BlueprintPromptsTable {
  id: string;
  blueprint_id: string;
  defect_id: string;
  parent_id: string | null;
  text: string;
  strategy: PromptStrategy;
  note: string | null;
  created_at: Timestamp;
}

export interface BlueprintJobsTable {
  id: string;
  blueprint_id: string;
  kind: JobKind;
  status: JobStatus;
  object_id: string | null;
  defect_id: string | null;
  region_id: string | null;
  prompt_id: string | null;
  endpoint: string;
  seed: number | null;
  params: Json<Record<string, unknown>>;
  attempt: Generated<number>;
  request_id: string | null;
  webhook_token: string;
  submit_started_at: NullableTimestamp;
  submitted_at: NullableTimestamp;
  fal_state: string | null;
  queue_position: number | null;
  /** The webhook's body (exact: big integers as strings) when it arrived before the job looked. */
  fal_payload: NullableJson<{ status: 'OK' | 'ERROR'; payload: unknown; error: string | null }>;
  result: NullableJson<Record<string, unknown>>;
  image_key: string | null;
  mask_key: string | null;
  bbox: NullableJson<Box>;
  area: number | null;
  error: string | null;
  error_hint: string | null;
  field_errors: NullableJson<{ field: string; message: string; type: string }[]>;
  rating: Rating | null;
  feedback: string | null;
  rated_at: NullableTimestamp;
  job_token: string | null;
  created_at: Timestamp;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  updated_at: Timestamp;
}

export interface BlueprintEventsTable {
  id: Generated<number>;
  blueprint_id: string;
  at: Timestamp;
  type: string;
  data: Json<Record<string, unknown>>;
}

export interface BlueprintTemplatesTable {
  id: string;
  version: number;
  owner: string;
  name: string;
  product_type: string | null;
  defects: Json<{ name: string; description: string }[]>;
  created_at: Timestamp;
}

export interface BlueprintExportsTable {
  id: string;
  blueprint_id: string;
  options: Json<Record<string, unknown>>;
  blob_key: string;
  bytes: ColumnType<number, number, number>;
  sha256: string;
  summary: Json<Record<string, unknown>>;
  created_at: Timestamp;
}

export interface BlueprintTables {
  blueprints: BlueprintsTable;
  blueprint_objects: BlueprintObjectsTable;
  blueprint_defects: BlueprintDefectsTable;
  blueprint_regions: BlueprintRegionsTable;
  blueprint_prompts: BlueprintPromptsTable;
  blueprint_jobs: BlueprintJobsTable;
  blueprint_events: BlueprintEventsTable;
  blueprint_templates: BlueprintTemplatesTable;
  blueprint_exports: BlueprintExportsTable;
}

export type BlueprintRow = Selectable<BlueprintsTable>;
export type BlueprintObjectRow = Selectable<BlueprintObjectsTable>;
export type BlueprintDefectRow = Selectable<BlueprintDefectsTable>;
export type BlueprintRegionRow = Selectable<BlueprintRegionsTable>;
export type BlueprintPromptRow = Selectable<BlueprintPromptsTable>;
export type BlueprintJobRow = Selectable<BlueprintJobsTable>;
export type NewBlueprintJobRow = Insertable<BlueprintJobsTable>;
export type BlueprintJobUpdate = Updateable<BlueprintJobsTable>;
export type BlueprintEventRow = Selectable<BlueprintEventsTable>;
export type BlueprintTemplateRow = Selectable<BlueprintTemplatesTable>;
export type BlueprintExportRow = Selectable<BlueprintExportsTable>;
