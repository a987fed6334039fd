import type { Config } from '../config.ts';
import type { Pipeline } from './pipeline.ts';
import { testPipeline } from './test-pipeline.ts';

/** The pipelines this process offers. */
export function createPipelines(config: Config): Pipeline[] {
  const pipelines: Pipeline[] = [];
  if (config.testEngines) pipelines.push(testPipeline as unknown as Pipeline);
  return pipelines;
}
