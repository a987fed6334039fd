import { z } from 'zod';
import { splatSettingsSchema } from '../../splat/settings.ts';

/** The pipeline's knobs of a training stage, beside the trainer's own (what a GPU trainer reads too). */
export const trainingStageKnobs = {
  holdoutEvery: z
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(8)
    .describe('Sorted by name, every n-th view (index % n == 0) is held out for evaluation and never trained on; 0 trains on all'),
  progressEvery: z.number().int().min(1).max(10_000).default(10).describe('Steps between progress reports'),
};

export const splatTrainSettings = splatSettingsSchema.extend({
  ...trainingStageKnobs,
  seed: z.number().int().min(0).max(2 ** 31).default(0).describe('Random seed: the same scene, settings, seed and thread count train the same splats'),
  checkpointEvery: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(500)
    .describe('Steps between checkpoints in the run storage: a worker killed mid-training resumes from the last one'),
  previewEvery: z.number().int().min(1).max(1_000_000).default(250).describe('Steps between preview renders of a training view'),
  previewWidth: z.number().int().min(32).max(1024).default(240).describe('Width of the preview render, in pixels'),
});
export type SplatTrainSettings = z.infer<typeof splatTrainSettings>;

/** The knobs that belong to the trainer (what resolveSplatSettings takes). */
export function trainerKnobs(settings: SplatTrainSettings): Record<string, unknown> {
  const { holdoutEvery: _h, progressEvery: _p, seed: _s, checkpointEvery: _c, previewEvery: _v, previewWidth: _w, ...knobs } = settings;
  return knobs;
}
