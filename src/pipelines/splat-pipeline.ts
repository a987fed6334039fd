import { z } from 'zod';
import type { EngineRegistry } from '../engines/registry.ts';
import { splatCompressSettings } from '../engines/splat-compress/index.ts';
import { splatEvaluateSettings } from '../engines/splat-evaluate/index.ts';
import { splatSceneSettings } from '../engines/splat-scene/index.ts';
import { type SplatTrainSettings, trainerKnobs } from '../engines/splat-train/settings.ts';
import { resolveSplatSettings } from '../splat/settings.ts';
import type { Pipeline } from './pipeline.ts';
import { stageChoice, withoutEngine } from './stage-choice.ts';

/** Engines that give cameras and points for the first stage. */
export const SFM_ENGINES = ['colmap', 'vggt-local', 'da3'] as const;
/** Engines that train splats. */
export const TRAIN_ENGINES = ['splat-train', 'opensplat', 'splatfacto'] as const;

/**
 * Photos (or a video) to Gaussian splats in the browser: `sfm` (cameras and points) → `scene`
 * (undistorted pinhole views) → `train` → `compress` (SOG, SPZ, compressed PLY, viewer page) →
 * `evaluate` (held-out PSNR/SSIM of every format). Each stage runs on the queue of its engine, so a
 * split deployment runs COLMAP on a CPU worker and training on a GPU worker.
 */
export function createSplatPipeline(engines: EngineRegistry) {
  const settings = z
    .object({
      holdoutEvery: z
        .number()
        .int()
        .min(0)
        .max(1000)
        .default(8)
        .describe('Sorted by name, every n-th image (index % n == 0) is held out: never trained on, scored by evaluate; 0 holds none out'),
      sfm: stageChoice(engines, SFM_ENGINES, 'colmap').describe('Cameras and points: COLMAP, or VGGT / DA3 where available (dense points)'),
      scene: splatSceneSettings.prefault({}).describe('Undistorted pinhole views for training'),
      train: stageChoice(engines, TRAIN_ENGINES, 'splat-train').describe("Training: Recon's CPU trainer, or OpenSplat / nerfstudio splatfacto on a GPU worker"),
      compress: splatCompressSettings.prefault({}).describe('Cleaning and web formats'),
      evaluate: splatEvaluateSettings.pick({ maxTrainViews: true }).prefault({}).describe('Scoring'),
    })
    .strict();
  const pipeline: Pipeline<z.infer<typeof settings>> = {
    id: 'splat',
    title: 'Gaussian splats',
    description:
      'Photos or a video to a 3D Gaussian splat you can view in the browser: structure from motion, training (on the CPU, or OpenSplat/splatfacto on a GPU), compression to SOG/SPZ and held-out quality metrics — each stage its own job.',
    settings,
    limits: { minImages: 3, maxImages: 2000 },
    stages: (s) => {
      const train = withoutEngine(s.train);
      // The CPU trainer's working width and background are what evaluation must score at.
      const trained = s.train.engine === 'splat-train' ? resolveSplatSettings(trainerKnobs(train as SplatTrainSettings)) : undefined;
      const width = trained?.width ?? (typeof train.width === 'number' ? train.width : undefined);
      return [
        { name: 'sfm', engine: s.sfm.engine, settings: withoutEngine(s.sfm) },
        { name: 'scene', engine: 'splat-scene', settings: s.scene },
        { name: 'train', engine: s.train.engine, settings: { ...train, holdoutEvery: s.holdoutEvery } },
        { name: 'compress', engine: 'splat-compress', settings: s.compress },
        {
          name: 'evaluate',
          engine: 'splat-evaluate',
          settings: { ...s.evaluate, holdoutEvery: s.holdoutEvery, ...(width && { width }), ...(trained && { background: trained.background }) },
        },
      ];
    },
  };
  return pipeline;
}
