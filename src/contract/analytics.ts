import { z } from 'zod';

export const engineSummary = z.object({
  engine: z.string(),
  runs: z.number().int(),
  queued: z.number().int(),
  processing: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  canceled: z.number().int(),
  avgProcessingSeconds: z.number().nullable().describe('Completed runs, startedAt to finishedAt'),
  avgImagesPerRun: z.number().nullable(),
  mostCommonSettings: z.array(z.object({ settings: z.record(z.string(), z.unknown()), runs: z.number().int() })),
});

export const summary = z.object({
  totals: z.object({ runs: z.number().int(), byStatus: z.record(z.string(), z.number().int()) }),
  averages: z.object({ processingSeconds: z.number().nullable(), imagesPerRun: z.number().nullable() }),
  mostCommonSettings: z
    .array(z.object({ engine: z.string(), key: z.string(), value: z.unknown(), runs: z.number().int() }))
    .describe('The most used value of each setting, per engine, most used first'),
  engines: z.array(engineSummary),
});
