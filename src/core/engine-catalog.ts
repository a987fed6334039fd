import { z } from 'zod';
import type { Engine } from '../engines/engine.ts';
import type { EngineRegistry } from '../engines/registry.ts';

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

/** Every engine of the registry: usable now or why not, its limits and its settings schema. */
export async function describeEngines(registry: EngineRegistry): Promise<EnginesList> {
  const describe = async (engine: Engine) => {
    const check = await engine.check().catch((error: Error) => ({ ok: false, reason: error.message }));
    return {
      id: engine.id,
      title: engine.title,
      description: engine.description,
      available: check.ok,
      ...(check.reason && { reason: check.reason }),
      default: engine.id === registry.defaultId,
      limits: engine.limits,
      produces: engine.produces,
      settingsSchema: z.toJSONSchema(engine.settings, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
    };
  };
  return { default: registry.defaultId ?? null, engines: await Promise.all(registry.list().map(describe)) };
}
