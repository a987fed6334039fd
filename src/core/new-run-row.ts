import type { NewRunRow } from '../db/schema.ts';
import type { RunPlan } from '../pipelines/run-planner.ts';

const EMPTY_ARTIFACTS = JSON.stringify({ available: {}, unavailable: {} });

/** A new run's row for a plan: no job yet, no artifacts. */
export function newRunRow(
  id: string,
  plan: RunPlan,
  input: { owner?: string | null | undefined; webhookUrl?: string | undefined },
  state: { status: 'queued' | 'uploading'; parentRunId: string | null },
): NewRunRow {
  return {
    id,
    owner: input.owner ?? null,
    engine: plan.id,
    status: state.status,
    stage: null,
    message: null,
    settings: JSON.stringify(plan.settings),
    webhook_url: input.webhookUrl ?? null,
    parent_run_id: state.parentRunId,
    error: null,
    error_hint: null,
    job_token: null,
    artifacts: EMPTY_ARTIFACTS,
    requested_at: new Date(),
    updated_at: new Date(),
  };
}
