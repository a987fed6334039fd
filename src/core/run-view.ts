import type { RunRow, RunStageRow } from '../db/schema.ts';
import type { RunStageView, RunView } from '../contract/runs.ts';

export const artifactUrl = (runId: string, type: string) => `/api/runs/${runId}/artifacts/${type}`;

/** The API's shape of a run (the seed's VGGTRun plus engine, stage, progress and queue position). */
export function toRunView(row: RunRow, images: string[], queuePosition: number | null, stages: RunStageRow[]): RunView {
  const artifacts: Record<string, string> = {};
  for (const type of Object.keys(row.artifacts.available)) artifacts[type] = artifactUrl(row.id, type);
  const unavailable = row.artifacts.unavailable;
  return {
    runId: row.id,
    status: row.status,
    engine: row.engine,
    stage: row.stage,
    progress: row.progress,
    message: row.message,
    queuePosition,
    settings: row.settings,
    images,
    requestedAt: row.requested_at.toISOString(),
    ...(row.started_at && { startedAt: row.started_at.toISOString() }),
    ...(row.finished_at && { finishedAt: row.finished_at.toISOString() }),
    ...(row.error && { error: row.error }),
    ...(row.error_hint && { errorHint: row.error_hint }),
    attempt: row.attempt,
    ...(row.worker && { worker: row.worker }),
    ...(row.parent_run_id && { parentRunId: row.parent_run_id }),
    ...(row.webhook_url && { webhookUrl: row.webhook_url }),
    artifacts,
    ...(Object.keys(unavailable).length && { unavailableArtifacts: unavailable }),
    ...(row.artifacts.glbMetadata && { glbMetadata: row.artifacts.glbMetadata }),
    stages: stages.map(toStageView),
    usage: { seconds: sum(stages, (s) => s.seconds), cost: sum(stages, (s) => s.cost) },
  };
}

const sum = (rows: RunStageRow[], of: (row: RunStageRow) => number) => rows.reduce((total, row) => total + Number(of(row)), 0);

function toStageView(stage: RunStageRow): RunStageView {
  return {
    name: stage.name,
    engine: stage.engine,
    status: stage.status,
    progress: stage.progress,
    message: stage.message,
    ...(stage.details && { details: stage.details }),
    ...(stage.summary && { summary: stage.summary }),
    settings: stage.settings,
    attempt: stage.attempt,
    ...(stage.worker && { worker: stage.worker }),
    ...(stage.cost_per_hour !== null && { costPerHour: stage.cost_per_hour }),
    seconds: Number(stage.seconds),
    cost: Number(stage.cost),
    ...(stage.started_at && { startedAt: stage.started_at.toISOString() }),
    ...(stage.finished_at && { finishedAt: stage.finished_at.toISOString() }),
    ...(stage.error && { error: stage.error }),
    ...(stage.error_hint && { errorHint: stage.error_hint }),
    ...(stage.reused_from && { reusedFrom: stage.reused_from }),
  };
}
