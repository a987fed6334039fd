import { z } from 'zod';

const flag = z
  .union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'True', 'False', 'yes', 'no'])])
  .transform((v) => v === true || v === '1' || v.toString().toLowerCase() === 'true' || v === 'yes');

/** `POST /ws/session/create` query: the seed's parameters (same defaults) plus `engine`. */
export const createSessionQuery = z.object({
  max_images: z.coerce.number().int().min(1).default(100),
  process_res: z.coerce.number().int().min(16).max(8192).default(504),
  process_res_method: z.string().min(1).max(64).default('upper_bound_resize'),
  conf_thresh_percentile: z.coerce.number().min(0).max(100).default(10),
  num_max_points: z.coerce.number().int().min(1).max(1_000_000_000).default(10_000_000),
  show_cameras: flag.default(true),
  engine: z.string().min(1).max(100).optional().describe('Engine id; the server default when omitted'),
});
export type CreateSessionQuery = z.infer<typeof createSessionQuery>;
export type SessionConfig = Omit<CreateSessionQuery, 'engine' | 'max_images'>;

export const SESSION_STATUSES = ['active', 'processing', 'completed', 'error'] as const;

export const sessionView = z.object({
  session_id: z.string(),
  status: z.enum(SESSION_STATUSES),
  image_count: z.number().int(),
  max_images: z.number().int(),
  created_at: z.string(),
  last_activity: z.string(),
  engine: z.string(),
  config: z.record(z.string(), z.unknown()),
  settings: z.record(z.string(), z.unknown()).describe('The engine settings every run of this session uses'),
  generated_image_count: z.number().int().describe('Images covered by the last completed run'),
  last_run_id: z.string().nullable(),
  result_run_id: z.string().nullable(),
  run_ids: z.array(z.string()),
  error_message: z.string().nullable(),
});
export type SessionView = z.infer<typeof sessionView>;

export const createSessionResult = z.object({
  success: z.literal(true),
  session_id: z.string(),
  created_at: z.string(),
  max_images: z.number().int(),
  engine: z.string(),
  config: z.record(z.string(), z.unknown()),
  websocket_url: z.string().describe('Path of the WebSocket to connect to'),
});

export const sessionStats = z.object({
  total_sessions: z.number().int(),
  active_sessions: z.number().int(),
  processing_sessions: z.number().int(),
  completed_sessions: z.number().int(),
  error_sessions: z.number().int(),
  total_images: z.number().int(),
  max_sessions: z.number().int(),
  session_timeout_seconds: z.number(),
});
export type SessionStats = z.infer<typeof sessionStats>;

export const sessionList = z.object({ sessions: z.array(sessionView), stats: sessionStats });
