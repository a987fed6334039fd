import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { readNpz } from '../../formats/npz.ts';
import { writePointsPly } from '../../formats/ply.ts';
import { type Engine, EngineError } from '../engine.ts';

const settings = z.object({
  steps: z.number().int().min(1).max(1000).default(4).describe('Progress steps to report; a checkpoint is saved after each'),
  stepMs: z.number().int().min(0).max(60_000).default(25).describe('Time per step'),
  failWith: z.enum(['none', 'permanent']).default('none').describe('Make the stage fail (for testing the platform)'),
});
type TestStageSettings = z.infer<typeof settings>;

/**
 * A deterministic pipeline stage for platform tests: it reads the predictions an earlier stage
 * stored, checkpoints after every step (and resumes from the last checkpoint on a later attempt),
 * and writes a PLY with one point per camera.
 */
export const testStageEngine: Engine<TestStageSettings> = {
  id: 'test-stage',
  title: 'Test stage',
  description: 'Deterministic pipeline stage for platform tests (RECON_TEST_ENGINES=1): reads predictions.npz, checkpoints, writes points.ply.',
  settings,
  limits: { minImages: 1, maxImages: 1000 },
  produces: ['ply'],
  consumes: ['predictions'],
  async check() {
    return { ok: true };
  },
  async run(ctx) {
    const predictions = ctx.artifacts.predictions;
    if (!predictions) throw new EngineError('No predictions.npz from an earlier stage');
    const saved = await ctx.checkpoint.load();
    let done = saved ? (JSON.parse(await readFile(saved, 'utf8')) as { step: number }).step : 0;
    if (saved) ctx.log(`resumed from checkpoint at step ${done} of ${ctx.settings.steps}`);
    while (done < ctx.settings.steps) {
      await sleep(ctx.settings.stepMs, undefined, { signal: ctx.signal });
      done++;
      ctx.progress('stepping', done / ctx.settings.steps, `step ${done}/${ctx.settings.steps}`, { step: done });
      if (ctx.settings.failWith === 'permanent' && done === ctx.settings.steps) throw new EngineError('simulated stage failure', { hint: 'The test stage did what failWith asked' });
      const file = join(ctx.workDir, `checkpoint-${done}.json`);
      await writeFile(file, JSON.stringify({ step: done }));
      await ctx.checkpoint.save(file);
    }
    const npz = await readNpz(predictions);
    const cameras = npz.get('extrinsic').shape[0] ?? 0;
    await npz.close();
    const ply = join(ctx.workDir, 'points.ply');
    await writePointsPly(ply, { positions: new Float32Array(cameras * 3).map((_, i) => i), colors: new Uint8Array(cameras * 3).fill(200) });
    await ctx.putArtifact('ply', ply);
    await ctx.summarize({ cameras, steps: done });
  },
};
