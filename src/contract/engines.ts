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
});
export const enginesResponse = z.object({ engines: z.array(engineView), default: z.string().nullable() });
export type EnginesList = z.infer<typeof enginesResponse>;
