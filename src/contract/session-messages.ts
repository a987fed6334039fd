import { z } from 'zod';

/** Client → server messages of the session WebSocket (the Depth-Anything-3 protocol). */
export const clientMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('image'),
    data: z.string().min(1, 'image data is empty').describe('base64 (a data: URL prefix is accepted)'),
    filename: z.string().max(1000).optional(),
  }),
  z.object({ type: z.literal('generate'), incremental: z.boolean().optional().default(false) }),
  z.object({ type: z.literal('finalize') }),
  z.object({ type: z.literal('ping') }),
]);
export type ClientMessage = z.infer<typeof clientMessage>;
export const CLIENT_MESSAGE_TYPES = ['image', 'generate', 'finalize', 'ping'] as const;

export const PROGRESS_STAGES = ['loading_model', 'inference', 'exporting', 'finalizing'] as const;
export type ProgressStage = (typeof PROGRESS_STAGES)[number];

export interface ResultMetadata {
  num_frames: number;
  session_id: string;
  glb_size_bytes: number;
  run_id: string;
  engine: string;
  /** Where the same GLB can be downloaded over HTTP. */
  glb_url: string;
  artifacts: Record<string, string>;
  image_names: string[];
  /** Per camera, 3×3 pixels (when the engine produced predictions). */
  intrinsics?: number[][][];
  /** Per camera, 4×4 OpenCV world-to-camera (when the engine produced predictions). */
  extrinsics?: number[][][];
}

/** Server → client messages. */
export type ServerMessage =
  | { type: 'connected'; session_id: string; image_count: number; max_images: number; status: string; engine: string }
  | { type: 'ack'; image_count: number; session_id: string; image_path: string; filename: string }
  | { type: 'progress'; stage: ProgressStage; progress: number; message: string; run_id: string }
  | { type: 'delta' | 'complete'; image_count: number; glb_base64: string; metadata: ResultMetadata }
  | { type: 'error'; message: string; status?: number; code?: string }
  | { type: 'pong'; session_id: string };

/** Parses one text frame; a human-readable reason when it is not a valid client message. */
export function parseClientMessage(text: string): { ok: true; message: ClientMessage } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `Message is not valid JSON: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'Message must be a JSON object with a "type"' };
  }
  const type = (value as { type?: unknown }).type;
  if (!CLIENT_MESSAGE_TYPES.includes(type as never)) {
    return {
      ok: false,
      error: `Unknown message type ${JSON.stringify(type ?? null)}; expected one of ${CLIENT_MESSAGE_TYPES.join(', ')}`,
    };
  }
  const parsed = clientMessage.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ');
    return { ok: false, error: `Invalid "${String(type)}" message — ${issues}` };
  }
  return { ok: true, message: parsed.data };
}
