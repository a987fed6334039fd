import { z } from 'zod';

export const limitView = z.object({
  name: z.string().describe('The `limit` field of the error this limit produces'),
  value: z.number().describe('0 means off'),
  unit: z.string(),
  scope: z.string(),
  status: z.number().nullable().describe('HTTP status of the error; null when the run fails instead'),
  setting: z.string().describe('Environment variable that sets it'),
  description: z.string(),
});
export type LimitView = z.infer<typeof limitView>;
export const limitsResponse = z.object({ limits: z.array(limitView), freeDiskBytes: z.number().nullable() });
export type LimitsResponse = z.infer<typeof limitsResponse>;
