import type { Config } from '../config.ts';
import { colmapEngine } from './colmap/index.ts';
import { EngineRegistry } from './registry.ts';
import { testEngine } from './test-engine/index.ts';

/** The engines this process offers, from configuration. COLMAP is the default: it needs no GPU. */
export function createEngineRegistry(config: Config): EngineRegistry {
  const registry = new EngineRegistry();
  registry.register(colmapEngine, { default: true });
  if (config.testEngines) registry.register(testEngine);
  return registry;
}
