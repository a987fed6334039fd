import { z } from 'zod';
import type { EnginesList } from '../contract/engines.ts';
import type { Engine } from '../engines/engine.ts';
import type { EngineRegistry } from '../engines/registry.ts';

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

/** What the HTTP face may know of the engines: their descriptions and whether the default is usable. */
export class EngineCatalog {
  readonly #registry: EngineRegistry;

  constructor(registry: EngineRegistry) {
    this.#registry = registry;
  }

  describe(): Promise<EnginesList> {
    return describeEngines(this.#registry);
  }

  /** The default engine (null without one), whether it is usable now, and every engine id. */
  async defaultStatus(): Promise<{ defaultId: string | null; usable: boolean; engineIds: string[] }> {
    const defaultId = this.#registry.defaultId ?? null;
    const check = defaultId ? await this.#registry.get(defaultId).check().catch(() => ({ ok: false })) : { ok: false };
    return { defaultId, usable: check.ok, engineIds: this.#registry.list().map((e) => e.id) };
  }
}
