import type { Config } from '../config.ts';
import { EngineRegistry } from './registry.ts';
import { testEngine } from './test-engine/index.ts';

/** The engines this process offers, from configuration. */
export function createEngineRegistry(config: Config): EngineRegistry {
  const registry = new EngineRegistry();
  if (config.testEngines) registry.register(testEngine);
  return registry;
}
