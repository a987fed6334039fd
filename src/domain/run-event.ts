import { z } from 'zod';

/** `stage` events say that one of the run's stages started, finished, failed or went back in the queue. */
export const runEventType = z.enum(['status', 'progress', 'log', 'retry', 'stage']);
export type RunEventType = z.infer<typeof runEventType>;

/** One row of a run's event log: what SSE streams, webhooks and metrics follow. */
export interface RunEvent {
  id: number;
  runId: string;
  at: string;
  type: RunEventType;
  data: Record<string, unknown>;
}
