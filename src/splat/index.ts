/**
 * 3D Gaussian Splatting on the CPU: training (createTrainer / restoreTrainer), rendering and
 * evaluation (createRenderer, evaluate), scene loading from an undistorted COLMAP model.
 * The standard 3DGS PLY is in formats/splat-ply.ts.
 */
export { type Camera, cameraCenter, resizeCamera } from './camera.ts';
export type { GaussianCloud } from './gaussian-cloud.ts';
export type { StepTimings } from './gradient-pass.ts';
export { gaussiansFromPoints, type SeedPoints } from './initialize.ts';
export { type ColmapScene, decode, loadColmapScene } from './load-views.ts';
export { psnr } from './metrics.ts';
export { encodePng } from './png.ts';
export { createRenderer, type Evaluation, evaluate, type StandaloneRenderer, type ViewScore } from './renderer.ts';
export { restoreTrainer } from './restore-trainer.ts';
export { PRESET_VALUES, resolveSplatSettings, SPLAT_PRESETS, type SplatPreset, type SplatSettings, type SplatSettingsInput, splatSettingsSchema } from './settings.ts';
export { type CreateTrainerOptions, createTrainer, type StepResult, sceneScale, type TrainOptions, Trainer } from './trainer.ts';
export type { TrainerState } from './trainer-state.ts';
export { type RenderedImage, splitViews, type View } from './view.ts';
