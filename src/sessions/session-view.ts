import type { SessionView } from '../contract/sessions.ts';
import type { SessionRow } from '../db/schema.ts';

/** A session row as the API shows it. */
export function toSessionView(row: SessionRow): SessionView {
  return {
    session_id: row.id,
    status: row.status,
    image_count: row.image_count,
    max_images: row.max_images,
    created_at: row.created_at.toISOString(),
    last_activity: row.last_activity_at.toISOString(),
    engine: row.engine,
    config: row.config,
    settings: row.settings,
    generated_image_count: row.generated_count,
    last_run_id: row.last_run_id,
    result_run_id: row.result_run_id,
    run_ids: row.run_ids,
    error_message: row.error_message,
  };
}
