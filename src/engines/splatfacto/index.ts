import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { type Engine, type EngineContext, EngineError } from '../engine.ts';
import { findExecutable } from '../external-trainer/executable.ts';
import { unzipToFolder } from '../../formats/unzip-folder.ts';
import { zipFolder } from '../../formats/zip.ts';
import { publishSplats, runExternal, stageDeadline } from '../external-trainer/run-trainer.ts';
import { trainingProject } from '../external-trainer/training-project.ts';
import { trainingStageKnobs } from '../splat-train/settings.ts';
import { checkpointDir, checkpointStep, nsExportArgs, nsTrainArgs, parseNsTrainLine, runDir } from './commands.ts';

export const splatfactoSettings = z.object({
  holdoutEvery: trainingStageKnobs.holdoutEvery,
  iterations: z.number().int().min(1).max(1_000_000).default(30_000).describe('Training steps (--max-num-iterations)'),
  shDegree: z.number().int().min(0).max(3).default(3).describe('Highest spherical-harmonics degree (--pipeline.model.sh-degree)'),
  checkpointEvery: z.number().int().min(1).max(1_000_000).default(2000).describe('Steps between checkpoints (--steps-per-save): a killed worker resumes from the last (--load-dir)'),
  timeoutSeconds: z.number().int().min(1).max(7 * 24 * 3600).default(6 * 3600).describe('The stage fails if nerfstudio takes longer than this'),
});
export type SplatfactoSettings = z.infer<typeof splatfactoSettings>;

const INSTALL = 'Install nerfstudio on the GPU worker (pip install nerfstudio, with a CUDA build of torch and gsplat) so `ns-train` and `ns-export` are on its PATH, or set NS_TRAIN_BIN and NS_EXPORT_BIN';

/**
 * nerfstudio's splatfacto as the training stage (what the seed system ran on an A10G):
 * `ns-train splatfacto` then `ns-export gaussian-splat`, driven like vggt-local — argument arrays,
 * progress parsed, a time limit, cancel; its checkpoints are the stage's, for `--load-dir` resumes.
 */
export function createSplatfactoEngine(options: { train?: string; export?: string } = {}): Engine<SplatfactoSettings> {
  const binaries = () => ({ train: options.train ?? process.env.NS_TRAIN_BIN ?? 'ns-train', export: options.export ?? process.env.NS_EXPORT_BIN ?? 'ns-export' });
  return {
    id: 'splatfacto',
    title: 'nerfstudio splatfacto (GPU)',
    description: 'Gaussian splat training with nerfstudio’s splatfacto on a CUDA GPU worker (ns-train, then ns-export gaussian-splat), in the cameras’ frame.',
    settings: splatfactoSettings,
    limits: { minImages: 2, maxImages: 10_000 },
    produces: ['splat-ply'],
    consumes: ['splat-scene'],
    concurrency: 1,
    async check() {
      const { train, export: exporter } = binaries();
      const missing = [(await findExecutable(train)) ? undefined : train, (await findExecutable(exporter)) ? undefined : exporter].filter(Boolean);
      return missing.length ? { ok: false, reason: `nerfstudio is not installed (${missing.join(', ')} not found): ${INSTALL}` } : { ok: true };
    },
    run: (ctx) => train(ctx, binaries()),
  };
}

async function train(ctx: EngineContext<SplatfactoSettings>, binaries: { train: string; export: string }): Promise<void> {
  const scene = ctx.artifacts['splat-scene'];
  if (!scene) throw new EngineError('No splat-scene.zip from an earlier stage', { hint: 'The scene stage must run before training' });
  const s = ctx.settings;
  const project = await trainingProject(scene, join(ctx.workDir, 'project'), s.holdoutEvery);
  ctx.log(`splatfacto project: ${project.train.length} training views, held out: ${project.heldOut.join(', ') || 'none'}`);
  const outputDir = join(ctx.workDir, 'outputs');
  await rm(outputDir, { recursive: true, force: true });
  const models = checkpointDir(outputDir);
  await mkdir(models, { recursive: true });
  const resume = await ctx.checkpoint.load();
  let resumedAt = 0;
  const deadline = stageDeadline(ctx.signal, s.timeoutSeconds);
  let saved = 0;
  let saving = Promise.resolve();
  const keepLatest = async () => {
    const latest = (await readdir(models).catch(() => [])).map((name) => ({ name, step: checkpointStep(name) })).filter((c) => c.step !== undefined).sort((a, b) => b.step! - a.step!)[0];
    if (!latest || latest.step! <= saved) return;
    saved = latest.step!;
    // Zipped (stored) with its name, which carries the step ns-train resumes from.
    const dir = join(ctx.workDir, `checkpoint-${saved}`);
    await mkdir(dir, { recursive: true });
    await copyFile(join(models, latest.name), join(dir, latest.name));
    const zip = join(ctx.workDir, `checkpoint-${saved}.zip`);
    await zipFolder(dir, zip, { compress: false });
    await rm(dir, { recursive: true, force: true });
    await ctx.checkpoint.save(zip);
    ctx.log(`checkpoint saved at iteration ${saved}`);
  };
  try {
    if (resume) {
      resumedAt = (await restoreCheckpoint(resume, models)) ?? 0;
      ctx.log(`resumed from checkpoint at iteration ${resumedAt} of ${s.iterations} (ns-train --load-dir)`);
    }
    await runExternal(
      ctx,
      {
        what: 'ns-train splatfacto',
        binary: binaries.train,
        args: nsTrainArgs({ project: project.root, outputDir, iterations: s.iterations, stepsPerSave: s.checkpointEvery, shDegree: s.shDegree, ...(resume && { loadDir: models }) }),
        cwd: ctx.workDir,
        install: INSTALL,
        onLine: (line) => {
          const step = parseNsTrainLine(line);
          if (!step) return;
          ctx.progress('training', Math.min(1, step.fraction), `iteration ${step.step}/${s.iterations}`, { iteration: step.step, iterations: s.iterations });
          if (step.step >= saved + s.checkpointEvery) saving = saving.then(keepLatest).catch((error) => ctx.log(`could not keep a checkpoint: ${(error as Error).message}`));
        },
      },
      deadline.signal,
    );
    await saving;
    ctx.progress('exporting', 0.5, 'ns-export gaussian-splat');
    const exportDir = join(ctx.workDir, 'export');
    await runExternal(ctx, { what: 'ns-export gaussian-splat', binary: binaries.export, args: nsExportArgs(join(runDir(outputDir), 'config.yml'), exportDir), cwd: ctx.workDir, install: INSTALL }, deadline.signal);
    await publishSplats(ctx, join(exportDir, 'splat.ply'), { trainer: 'splatfacto', iterations: s.iterations, trainViews: project.train.length, heldOutViews: project.heldOut, ...(resumedAt && { resumedFromIteration: resumedAt }) });
  } catch (error) {
    if (deadline.timedOut()) throw new EngineError(`nerfstudio did not finish within ${s.timeoutSeconds} s`, { hint: 'Raise timeoutSeconds or lower the iterations' });
    throw error;
  } finally {
    await saving;
  }
}

/** Puts the saved checkpoint back where ns-train looks (`step-<n>.ckpt` in `nerfstudio_models`); returns its step. */
async function restoreCheckpoint(checkpoint: string, models: string): Promise<number | undefined> {
  const names = await unzipToFolder(checkpoint, models);
  return names.map(checkpointStep).find((step) => step !== undefined);
}
