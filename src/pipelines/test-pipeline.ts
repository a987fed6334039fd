import { z } from 'zod';
import type { Pipeline } from './pipeline.ts';

const stageSettings = z.record(z.string(), z.unknown()).default({});

/**
 * Three stages of test engines (RECON_TEST_ENGINES=1): `make` (the test engine: predictions and a
 * scene), then `use` and `finish` (test stages that read the predictions, checkpoint and write a PLY).
 */
export const testPipeline: Pipeline<{ make: Record<string, unknown>; use: Record<string, unknown>; finish: Record<string, unknown> }> = {
  id: 'test-pipeline',
  title: 'Test pipeline',
  description: 'Three test stages, for platform tests of multi-stage runs.',
  settings: z.object({ make: stageSettings, use: stageSettings, finish: stageSettings }).strict(),
  limits: { minImages: 1, maxImages: 1000 },
  stages: (settings) => [
    { name: 'make', engine: 'test', settings: settings.make },
    { name: 'use', engine: 'test-stage', settings: settings.use },
    { name: 'finish', engine: 'test-stage', settings: settings.finish },
  ],
};
