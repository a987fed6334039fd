import type { Engine } from '../engine.ts';
import { type SplatTrainSettings, splatTrainSettings } from './settings.ts';

export { splatTrainSettings, trainingStageKnobs } from './settings.ts';

/**
 * 3D Gaussian Splatting on the CPU (src/splat): trains on the scene's views except the held-out
 * ones, reports loss and Gaussian count as it goes with a preview render, checkpoints into the
 * run's storage (a killed worker resumes from the last checkpoint) and stores the standard 3DGS
 * PLY in the cameras' world frame.
 */
export const splatTrainEngine: Engine<SplatTrainSettings> = {
  id: 'splat-train',
  title: 'Gaussian splat training (CPU)',
  description:
    "Recon's own 3D Gaussian Splatting trainer: runs on any CPU, no GPU needed (minutes with the quick preset). EWA projection, SH up to degree 3, gsplat's densification schedule, checkpoints that survive a killed worker.",
  settings: splatTrainSettings,
  limits: { minImages: 2, maxImages: 10_000 },
  produces: ['splat-ply', 'splat-preview'],
  consumes: ['splat-scene'],
  async check() {
    return { ok: true };
  },
  // The trainer is loaded when a run trains, not with the engine list at every start.
  run: async (ctx) => (await import('./train.ts')).train(ctx),
};
