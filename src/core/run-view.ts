import type { RunRow } from '../db/schema.ts';
import type { RunView } from '../contract/runs.ts';

export const artifactUrl = (runId: string, type: string) => `/api/runs/${runId}/artifacts/${type}`;

/** The API's shape of a run (the seed's VGGTRun plus engine, stage, progress and queue position). */
export function toRunView(row: RunRow, images: string[], queuePosition: number | null): RunView {
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
  };
}
