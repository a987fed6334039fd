import { z } from 'zod';
import { glbMetadata } from '../domain/artifacts.ts';
import { RUN_ID_PATTERN } from '../domain/ids.ts';
import { resourceId } from './resource-id.ts';
import { RUN_STATUSES, runStatus } from '../domain/run-status.ts';
import { stageStatus } from '../domain/run-stage.ts';

export const runStageView = z
  .object({
    name: z.string().describe('The stage: sfm, train, … (a plain engine run has one stage, named after its engine)'),
    engine: z.string(),
    status: stageStatus,
    progress: z.number().min(0).max(1),
    message: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).optional().describe('The last progress numbers the engine reported (iteration, loss, Gaussians, …)'),
    summary: z.record(z.string(), z.unknown()).optional().describe('What the stage made: metrics, counts'),
    settings: z.record(z.string(), z.unknown()),
    attempt: z.number().int(),
    worker: z.string().optional().describe('The worker that ran (or runs) the stage'),
    costPerHour: z.number().optional().describe("That worker's hourly rate (RECON_WORKER_COST_PER_HOUR)"),
    seconds: z.number().describe('Worker time spent on the stage, all attempts'),
    cost: z.number().describe('Seconds × the hourly rate of the worker of each attempt'),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    error: z.string().optional(),
    errorHint: z.string().optional(),
    reusedFrom: z.string().optional().describe('The run whose outputs this stage reuses'),
  })
  .describe('One stage of a run');
export type RunStageView = z.infer<typeof runStageView>;

export const runView = z
  .object({
    runId: z.string(),
    status: runStatus,
    engine: z.string(),
    stage: z.string().nullable().describe('What the run is doing now: waiting, extracting, matching, …'),
    progress: z.number().min(0).max(1),
    message: z.string().nullable(),
    queuePosition: z.number().int().nullable().describe('1-based place in its engine queue while waiting'),
    settings: z.record(z.string(), z.unknown()),
    images: z.array(z.string()),
    requestedAt: z.string(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    error: z.string().optional(),
    errorHint: z.string().optional(),
    attempt: z.number().int(),
    worker: z.string().optional().describe('The worker that took the run last (RECON_WORKER_NAME or its host name)'),
    parentRunId: z.string().optional(),
    webhookUrl: z.string().optional(),
    artifacts: z.record(z.string(), z.string()).describe('Artifact URLs by type'),
    unavailableArtifacts: z.record(z.string(), z.string()).optional().describe('Why an artifact is missing'),
    glbMetadata: glbMetadata.optional(),
    stages: z.array(runStageView).describe('The stages in order; one for a plain engine run'),
    usage: z.object({ seconds: z.number(), cost: z.number() }).describe('Worker seconds and cost of all stages'),
  })
  .describe('A run, in the seed client shape (VGGTRun) plus engine, stage, progress and queuePosition');
export type RunView = z.infer<typeof runView>;

export const runIdParams = z.object({ runId: resourceId('Run id, e.g. run_1732170000000_ab12cd34') });

export const createRunBody = z
  .object({
    settings: z.record(z.string(), z.unknown()).optional().describe("Engine settings; see GET /api/engines for each engine's schema"),
    engine: z.string().optional().describe('Engine id; the server default when omitted'),
    webhookUrl: z.string().url().optional(),
    fromRun: z
      .string()
      .regex(RUN_ID_PATTERN, 'not a run id (expected run_<digits>_<letters>)')
      .optional()
      .describe("A pipeline only: start from this completed run's cameras and points instead of running the first stage"),
  })
  .strict();

export const rerunBody = z
  .object({
    settings: z.record(z.string(), z.unknown()).optional(),
    engine: z.string().optional(),
    fromStage: z.string().optional().describe("A pipeline run only: reuse the earlier stages' outputs and run from this stage on"),
  })
  .strict()
  .default({});

export const listRunsQuery = z.object({
  status: z
    .string()
    .optional()
    .transform((s) => (s ? s.split(',') : undefined))
    .pipe(z.array(z.enum(RUN_STATUSES)).optional())
    .describe('Comma-separated statuses'),
  engine: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export const runList = z.object({ runs: z.array(runView), total: z.number().int() });

export const uploadResult = z.object({
  runId: z.string(),
  imagesUploaded: z.number().int(),
  images: z.array(z.string()),
  stored: z.array(z.object({ original: z.string(), stored: z.string() })).describe('How each uploaded name was stored'),
});

export const processResult = z.object({
  runId: z.string(),
  status: z.literal('processing'),
  queuePosition: z.number().int().nullable(),
});

export const imageNameParam = z
  .string()
  .min(1)
  .max(255)
  .regex(/^(?!\.{1,2}$)[^/\\]+$/, 'an image name of the run, as listed in its `images`');
