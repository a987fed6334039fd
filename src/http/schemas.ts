import { z } from 'zod';
import { RUN_STATUSES, runView } from '../core/run-model.ts';

export const runIdParams = z.object({
  runId: z
    .string()
    .regex(/^run_\d{10,16}_[a-z0-9]{6,12}$/, 'not a run id (expected run_<digits>_<letters>)')
    .describe('Run id, e.g. run_1732170000000_ab12cd34'),
});

export const problemSchema = z
  .object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string() })
  .catchall(z.unknown())
  .describe('RFC 9457 problem details');

export const problems = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, problemSchema]));

export const createRunBody = z
  .object({
    settings: z.record(z.string(), z.unknown()).optional().describe("Engine settings; see GET /api/engines for each engine's schema"),
    engine: z.string().optional().describe('Engine id; the server default when omitted'),
    webhookUrl: z.string().url().optional(),
  })
  .strict();

export const rerunBody = z
  .object({ settings: z.record(z.string(), z.unknown()).optional(), engine: z.string().optional() })
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
