import { z } from 'zod';

export const engineView = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string(),
  available: z.boolean(),
  reason: z.string().optional(),
  default: z.boolean(),
  limits: z.object({ minImages: z.number(), maxImages: z.number() }),
  produces: z.array(z.string()),
  settingsSchema: z.record(z.string(), z.unknown()).describe('JSON Schema of the engine settings, with defaults'),
  stages: z
    .array(z.object({ name: z.string(), engine: z.string() }))
    .optional()
    .describe('A pipeline: its stages with their default engines (each stage is a job on that engine\'s queue)'),
  consumes: z
    .array(z.string())
    .optional()
    .describe("A pipeline stage's engine: the artifacts of earlier stages it reads (it runs only inside a pipeline)"),
});
export const enginesResponse = z.object({ engines: z.array(engineView), default: z.string().nullable() });
export type EnginesList = z.infer<typeof enginesResponse>;
