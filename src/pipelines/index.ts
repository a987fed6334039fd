import type { Config } from '../config.ts';
import type { EngineRegistry } from '../engines/registry.ts';
import type { Pipeline } from './pipeline.ts';
import { createSplatPipeline } from './splat-pipeline.ts';
import { testPipeline } from './test-pipeline.ts';

/** The pipelines this process offers, over the engines it knows. */
export function createPipelines(config: Config, engines: EngineRegistry): Pipeline[] {
  const pipelines: Pipeline[] = [createSplatPipeline(engines) as unknown as Pipeline];
  if (config.testEngines) pipelines.push(testPipeline as unknown as Pipeline);
  return pipelines;
}
