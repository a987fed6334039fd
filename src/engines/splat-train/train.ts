import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unzipToFolder } from '../../formats/unzip-folder.ts';
import { createTrainer, encodePng, loadColmapScene, resizeCamera, resolveSplatSettings, restoreTrainer, splitViews, type StepResult, type Trainer, type View } from '../../splat/index.ts';
import { type EngineContext, EngineError } from '../engine.ts';
import { SCENE_IMAGES, SCENE_MODEL } from '../splat-scene/index.ts';
import { type SplatTrainSettings, trainerKnobs } from './settings.ts';

export async function train(ctx: EngineContext<SplatTrainSettings>): Promise<void> {
  const sceneZip = ctx.artifacts['splat-scene'];
  if (!sceneZip) throw new EngineError('No splat-scene.zip from an earlier stage', { hint: 'The scene stage must run before training' });
  const s = ctx.settings;
  const settings = resolveSplatSettings(trainerKnobs(s));
  ctx.progress('loading', 0, 'Reading the scene');
  const dir = join(ctx.workDir, 'scene');
  await unzipToFolder(sceneZip, dir);
  const scene = await loadColmapScene(join(dir, SCENE_MODEL), join(dir, SCENE_IMAGES), { width: settings.width });
  const { train: views, test } = splitViews(scene.views, s.holdoutEvery);
  if (views.length < 1) throw new EngineError(`No view left to train on: ${scene.views.length} views, every ${s.holdoutEvery}th held out`);
  const { width, height } = views[0]!.camera;
  ctx.log(`${scene.views.length} views at ${width}×${height}: training on ${views.length}, holding out ${test.length} (${test.map((v) => v.name).join(', ') || 'none'}); ${scene.points.positions.length / 3} seed points`);

  const saved = await ctx.checkpoint.load();
  const trainer = saved ? await restoreTrainer(saved, views) : createTrainer({ views, points: scene.points, settings, seed: s.seed });
  const resumedAt = saved ? trainer.iteration : 0;
  if (saved) ctx.log(`resumed from checkpoint at iteration ${resumedAt} of ${settings.iterations}`);
  const started = performance.now();
  try {
    const preview = previewer(ctx, trainer, views[0]!);
    let last: StepResult | undefined;
    await trainer.train({
      signal: ctx.signal,
      progressEvery: s.progressEvery,
      checkpointEvery: s.checkpointEvery,
      checkpointPath: join(ctx.workDir, 'checkpoint.npz'),
      onCheckpoint: async (path, iteration) => {
        await ctx.checkpoint.save(path);
        ctx.log(`checkpoint saved at iteration ${iteration}`);
      },
      onProgress: async (step) => {
        last = step;
        const done = step.iteration - resumedAt;
        const perStep = (performance.now() - started) / 1000 / Math.max(1, done);
        ctx.progress('training', step.iteration / settings.iterations, `iteration ${step.iteration}/${settings.iterations} · loss ${step.loss.toFixed(4)} · ${step.gaussians.toLocaleString('en')} Gaussians`, {
          iteration: step.iteration,
          iterations: settings.iterations,
          loss: round(step.loss),
          gaussians: step.gaussians,
          shDegree: trainer.shDegree,
          secondsPerStep: round(perStep),
        });
        if (step.iteration % s.previewEvery === 0) await preview();
      },
    });
    ctx.signal.throwIfAborted();
    await preview();
    ctx.progress('exporting', 0.99, 'Writing the 3DGS PLY');
    const ply = join(ctx.workDir, 'splat.ply');
    await trainer.toPly(ply);
    await ctx.putArtifact('splat-ply', ply);
    const seconds = (performance.now() - started) / 1000;
    await ctx.summarize({
      iterations: trainer.iteration,
      gaussians: trainer.gaussianCount,
      loss: last ? round(last.loss) : null,
      trainViews: views.length,
      heldOutViews: test.map((v) => v.name),
      width,
      height,
      ...(resumedAt && { resumedFromIteration: resumedAt }),
      secondsPerStep: round(seconds / Math.max(1, trainer.iteration - resumedAt)),
    });
  } finally {
    await trainer.close();
  }
}

/** Renders the first training view, small, as the run's live preview (replaced each time). */
function previewer(ctx: EngineContext<SplatTrainSettings>, trainer: Trainer, view: View) {
  const camera = resizeCamera(view.camera, Math.min(ctx.settings.previewWidth, view.camera.width));
  let count = 0;
  return async () => {
    const png = await encodePng(await trainer.render(camera));
    const file = join(ctx.workDir, `preview-${count++}.png`);
    await writeFile(file, png);
    await ctx.putArtifact('splat-preview', file);
  };
}

const round = (value: number) => Math.round(value * 1e5) / 1e5;
