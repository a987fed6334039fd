import { z } from 'zod';
import type { EngineRegistry } from '../engines/registry.ts';

/**
 * A stage's settings where the stage may run one of several engines: `{engine, …that engine's
 * settings}`, validated by the chosen engine's own schema (so GET /api/engines shows each choice's
 * settings). Engines this process does not offer are left out; `engine` defaults to `preferred`.
 */
export function stageChoice(engines: EngineRegistry, ids: readonly string[], preferred: string): z.ZodType<StageChoice, unknown> {
  const offered = ids.filter((id) => engines.has(id));
  const options = offered.map((id) => {
    const schema = engines.get(id).settings;
    if (!(schema instanceof z.ZodObject)) throw new Error(`engine "${id}" settings are not an object schema`);
    return schema.extend({ engine: z.literal(id).describe(engines.get(id).title) });
  });
  const fallback = offered.includes(preferred) ? preferred : offered[0];
  if (!options.length || fallback === undefined) throw new Error(`none of the engines ${ids.join(', ')} is registered`);
  const union = z.discriminatedUnion('engine', options as [(typeof options)[number], ...(typeof options)[number][]]);
  const withEngine = z.preprocess((value) => (value && typeof value === 'object' && !('engine' in value) ? { ...value, engine: fallback } : value), union);
  return withEngine.prefault({ engine: fallback }) as unknown as z.ZodType<StageChoice, unknown>;
}

/** A stage's chosen engine and that engine's settings. */
export type StageChoice = { engine: string } & Record<string, unknown>;

/** The stage settings without the `engine` key that chose the engine. */
export function withoutEngine(settings: Record<string, unknown>): Record<string, unknown> {
  const { engine: _engine, ...rest } = settings;
  return rest;
}
