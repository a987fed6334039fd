import { z } from 'zod';
import { RUN_ID_PATTERN } from '../domain/ids.ts';

/** Runs one batch may hold. */
export const MAX_BATCH_RUNS = 100;

export const runSpec = z
  .object({
    engine: z.string().optional(),
    settings: z.record(z.string(), z.unknown()).optional(),
    webhookUrl: z.string().url().optional(),
  })
  .strict();
export const runSpecs = z.array(runSpec).min(1).max(MAX_BATCH_RUNS);
export const fromRunsBody = z
  .object({
    runIds: z.array(z.string().regex(RUN_ID_PATTERN, 'not a run id')).min(1).max(MAX_BATCH_RUNS),
    webhookUrl: z.string().url().optional(),
  })
  .strict();

export const batchStatus = z.object({
  batchId: z.string(),
  status: z.enum(['processing', 'completed']),
  total: z.number().int(),
  queued: z.number().int().describe('queued or uploading'),
  processing: z.number().int().describe('processing (waiting for a worker or working) or fetching'),
  completed: z.number().int(),
  failed: z.number().int(),
  canceled: z.number().int(),
  runIds: z.array(z.string()),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
});
export const createdBatch = z.object({ batchId: z.string(), runIds: z.array(z.string()), status: z.enum(['processing', 'completed']) });
