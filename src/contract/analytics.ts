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

const usageFields = {
  stages: z.number().int().describe('Stages that ran (reused ones are not counted)'),
  completed: z.number().int(),
  seconds: z.number().describe('Worker seconds, all attempts'),
  avgSeconds: z.number().nullable().describe('Per completed stage'),
  cost: z.number().describe('Seconds × the hourly rate of the worker that ran them (RECON_WORKER_COST_PER_HOUR)'),
};

export const summary = z.object({
  totals: z.object({ runs: z.number().int(), byStatus: z.record(z.string(), z.number().int()) }),
  averages: z.object({ processingSeconds: z.number().nullable(), imagesPerRun: z.number().nullable() }),
  mostCommonSettings: z
    .array(z.object({ engine: z.string(), key: z.string(), value: z.unknown(), runs: z.number().int() }))
    .describe('The most used value of each setting, per engine, most used first'),
  usage: z
    .object({
      seconds: z.number(),
      cost: z.number(),
      byStage: z.array(z.object({ stage: z.string(), ...usageFields })).describe('Per stage name (sfm, train, …; a plain run\'s stage is named after its engine)'),
      byEngine: z.array(z.object({ engine: z.string(), ...usageFields })).describe('Per engine that ran a stage'),
    })
    .describe('Time and cost of the work done'),
  engines: z.array(engineSummary),
});
