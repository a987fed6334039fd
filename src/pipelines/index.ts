import type { Config } from '../config.ts';
import type { EngineRegistry } from '../engines/registry.ts';
import type { Pipeline } from './pipeline.ts';
import { testPipeline } from './test-pipeline.ts';

/** The pipelines this process offers, over the engines it knows. */
export function createPipelines(config: Config, _engines: EngineRegistry): Pipeline[] {
  const pipelines: Pipeline[] = [];
  if (config.testEngines) pipelines.push(testPipeline as unknown as Pipeline);
  return pipelines;
}
