import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { type Engine, type EngineContext, EngineError } from '../engine.ts';
import { findExecutable } from '../external-trainer/executable.ts';
import { publishSplats, runExternal, saveCheckpointCopy, stageDeadline } from '../external-trainer/run-trainer.ts';
import { trainingProject } from '../external-trainer/training-project.ts';
import { trainingStageKnobs } from '../splat-train/settings.ts';
import { openSplatArgs, parseOpenSplatLine, savedSceneStep } from './commands.ts';

export const openSplatSettings = z.object({
  holdoutEvery: trainingStageKnobs.holdoutEvery,
  iterations: z.number().int().min(1).max(1_000_000).default(30_000).describe('Training steps (--num-iters)'),
  shDegree: z.number().int().min(1).max(3).default(3).describe('Highest spherical-harmonics degree (--sh-degree)'),
  downscaleFactor: z.number().min(1).max(16).default(1).describe('Scale the images down by this factor before training (--downscale-factor)'),
  checkpointEvery: z.number().int().min(1).max(1_000_000).default(1000).describe('Steps between saved scenes (--save-every): a killed worker resumes from the last (--resume)'),
  timeoutSeconds: z.number().int().min(1).max(7 * 24 * 3600).default(6 * 3600).describe('The stage fails if OpenSplat takes longer than this'),
});
export type OpenSplatSettings = z.infer<typeof openSplatSettings>;

const INSTALL = 'Build OpenSplat (github.com/pierotofy/OpenSplat: CUDA + libtorch + OpenCV) on the GPU worker and put `opensplat` on its PATH, or set OPENSPLAT_BIN';
const OUTPUT_STEM = 'splat';

/**
 * OpenSplat (C++/libtorch, CUDA) as the training stage, for GPU workers: driven like vggt-local —
 * argument arrays, its progress parsed, a time limit, cancel. Its scene saves are the stage's
 * checkpoints, so a killed worker resumes with `--resume`.
 */
export function createOpenSplatEngine(options: { binary?: string } = {}): Engine<OpenSplatSettings> {
  const binary = () => options.binary ?? process.env.OPENSPLAT_BIN ?? 'opensplat';
  return {
    id: 'opensplat',
    title: 'OpenSplat (GPU)',
    description: 'Gaussian splat training with OpenSplat (C++/libtorch) on a CUDA GPU worker; its 3DGS PLY in the cameras’ frame (--keep-crs).',
    settings: openSplatSettings,
    limits: { minImages: 2, maxImages: 10_000 },
    produces: ['splat-ply'],
    consumes: ['splat-scene'],
    concurrency: 1,
    async check() {
      return (await findExecutable(binary())) ? { ok: true } : { ok: false, reason: `OpenSplat is not installed: ${INSTALL}` };
    },
    run: (ctx) => train(ctx, binary()),
  };
}

async function train(ctx: EngineContext<OpenSplatSettings>, binary: string): Promise<void> {
  const scene = ctx.artifacts['splat-scene'];
  if (!scene) throw new EngineError('No splat-scene.zip from an earlier stage', { hint: 'The scene stage must run before training' });
  const s = ctx.settings;
  const project = await trainingProject(scene, join(ctx.workDir, 'project'), s.holdoutEvery);
  ctx.log(`OpenSplat project: ${project.train.length} training views, held out: ${project.heldOut.join(', ') || 'none'}`);
  const outDir = join(ctx.workDir, 'out');
  await rm(outDir, { recursive: true, force: true });
  const resume = await ctx.checkpoint.load();
  const deadline = stageDeadline(ctx.signal, s.timeoutSeconds);
  let saved = 0;
  let saving = Promise.resolve();
  const keepLatestSave = async () => {
    const files = (await readdir(outDir).catch(() => [])).map((name) => ({ name, step: savedSceneStep(OUTPUT_STEM, name) })).filter((f) => f.step !== undefined);
    const latest = files.sort((a, b) => b.step! - a.step!)[0];
    if (!latest || latest.step! <= saved) return;
    saved = latest.step!;
    await saveCheckpointCopy(ctx, join(outDir, latest.name), latest.name);
    ctx.log(`checkpoint saved at iteration ${saved}`);
    for (const older of files.filter((f) => f.step! < saved)) await rm(join(outDir, older.name), { force: true });
  };
  await mkdir(outDir, { recursive: true });
  const resumedAt = resume ? await savedIteration(resume) : 0;
  if (resume) ctx.log(`resumed from checkpoint at iteration ${resumedAt} of ${s.iterations} (OpenSplat --resume)`);
  try {
    await runExternal(
      ctx,
      {
        what: 'OpenSplat',
        binary,
        args: openSplatArgs({ project: project.root, output: join(outDir, `${OUTPUT_STEM}.ply`), iterations: s.iterations, saveEvery: s.checkpointEvery, shDegree: s.shDegree, downscaleFactor: s.downscaleFactor, ...(resume && { resume }) }),
        cwd: ctx.workDir,
        install: INSTALL,
        onLine: (line) => {
          const step = parseOpenSplatLine(line);
          if (!step) return;
          ctx.progress('training', step.step / s.iterations, `iteration ${step.step}/${s.iterations} · loss ${step.loss.toFixed(4)}`, { iteration: step.step, iterations: s.iterations, loss: step.loss });
          if (step.step >= saved + s.checkpointEvery) saving = saving.then(keepLatestSave).catch((error) => ctx.log(`could not keep a checkpoint: ${(error as Error).message}`));
        },
      },
      deadline.signal,
    );
  } catch (error) {
    if (deadline.timedOut()) throw new EngineError(`OpenSplat did not finish within ${s.timeoutSeconds} s`, { hint: 'Raise timeoutSeconds, lower the iterations, or raise downscaleFactor' });
    throw error;
  } finally {
    await saving;
  }
  await publishSplats(ctx, join(outDir, `${OUTPUT_STEM}.ply`), { trainer: 'opensplat', iterations: s.iterations, trainViews: project.train.length, heldOutViews: project.heldOut, ...(resumedAt && { resumedFromIteration: resumedAt }) });
}

/** The iteration OpenSplat wrote into a saved scene's header (`comment Generated by opensplat at iteration N`). */
async function savedIteration(ply: string): Promise<number> {
  const file = await open(ply);
  try {
    const head = Buffer.alloc(256);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return Number(/at iteration (\d+)/.exec(head.subarray(0, bytesRead).toString('latin1'))?.[1] ?? 0);
  } finally {
    await file.close();
  }
}
