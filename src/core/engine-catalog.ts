import { z } from 'zod';
import type { EnginesList } from '../contract/engines.ts';
import type { Engine } from '../engines/engine.ts';
import type { EngineRegistry } from '../engines/registry.ts';
import type { Pipeline } from '../pipelines/pipeline.ts';

const checkOf = (engine: Engine) => engine.check().catch((error: Error) => ({ ok: false, reason: error.message }));

/**
 * Every pipeline and engine: usable now or why not, its limits and its settings schema. A pipeline
 * is usable when the engines of its default stages are (on a split deployment, they may be usable
 * only on other workers).
 */
export async function describeEngines(registry: EngineRegistry, pipelines: readonly Pipeline[] = []): Promise<EnginesList> {
  const describe = async (engine: Engine) => {
    const check = await checkOf(engine);
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
      ...(engine.consumes?.length && { consumes: engine.consumes }),
    };
  };
  const describePipeline = async (pipeline: Pipeline) => {
    const stages = pipeline.stages(pipeline.settings.parse({}));
    const engines = stages.map((stage) => (registry.has(stage.engine) ? registry.get(stage.engine) : undefined));
    const checks = await Promise.all(engines.map((engine) => (engine ? checkOf(engine) : { ok: false, reason: 'not offered here' })));
    const failed = checks.findIndex((check) => !check.ok);
    return {
      id: pipeline.id,
      title: pipeline.title,
      description: pipeline.description,
      available: failed < 0,
      ...(failed >= 0 && { reason: `stage ${stages[failed]!.name} (${stages[failed]!.engine}): ${checks[failed]!.reason ?? 'unavailable'}` }),
      default: false,
      limits: pipeline.limits,
      produces: [...new Set(engines.flatMap((engine) => engine?.produces ?? []))],
      settingsSchema: z.toJSONSchema(pipeline.settings, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
      stages: stages.map(({ name, engine }) => ({ name, engine })),
    };
  };
  return {
    default: registry.defaultId ?? null,
    engines: [...(await Promise.all(pipelines.map(describePipeline))), ...(await Promise.all(registry.list().map(describe)))],
  };
}

/** What the HTTP face may know of the engines: their descriptions and whether the default is usable. */
export class EngineCatalog {
  readonly #registry: EngineRegistry;
  readonly #pipelines: readonly Pipeline[];

  constructor(registry: EngineRegistry, pipelines: readonly Pipeline[] = []) {
    this.#registry = registry;
    this.#pipelines = pipelines;
  }

  describe(): Promise<EnginesList> {
    return describeEngines(this.#registry, this.#pipelines);
  }

  /** The default engine (null without one), whether it is usable now, and every engine id. */
  async defaultStatus(): Promise<{ defaultId: string | null; usable: boolean; engineIds: string[] }> {
    const defaultId = this.#registry.defaultId ?? null;
    const check = defaultId ? await this.#registry.get(defaultId).check().catch(() => ({ ok: false })) : { ok: false };
    return { defaultId, usable: check.ok, engineIds: this.#registry.list().map((e) => e.id) };
  }
}
