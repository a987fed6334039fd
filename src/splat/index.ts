/**
 * 3D Gaussian Splatting on the CPU: training, rendering and evaluation. The standard 3DGS PLY
 * is in formats/splat-ply.ts (writeSplatPly / readSplatPly).
 *
 *   const settings = resolveSplatSettings({ preset: 'quick' });          // every knob overridable
 *   const scene = await loadColmapScene(modelDir, imageDir, { width: settings.width });
 *   const { train, test } = splitViews(scene.views);                    // index % 8 == 0 held out
 *   const trainer = createTrainer({ views: train, points: scene.points, settings, seed: 1 });
 *   await trainer.train({ signal, onProgress, checkpointEvery: 500, checkpointPath, onCheckpoint });
 *   await trainer.toPly(plyPath);                                        // the cameras' world frame
 *   const metrics = await evaluate(await readSplatPly(plyPath), test);   // { psnr, ssim, views }
 *   await trainer.close();                                               // stops the worker threads
 *
 * A killed run continues with restoreTrainer(checkpointPath, train): with the same thread count
 * it reproduces the uninterrupted run bit for bit.
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
