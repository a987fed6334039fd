import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { baseSettings } from '../../domain/base-settings.ts';
import { buildSceneGlb } from '../../formats/glb-scene.ts';
import { writeNpz } from '../../formats/npz.ts';
import { type Engine, EngineError } from '../engine.ts';
import { ringOfCameras, texturedCube } from './synthetic-output.ts';

const settings = baseSettings.extend({
  steps: z.number().int().min(1).max(1000).default(4).describe('Progress steps to report'),
  stepMs: z.number().int().min(0).max(60_000).default(25).describe('Time per step'),
  failWith: z
    .enum(['none', 'transient', 'permanent', 'crash'])
    .default('none')
    .describe('Make the run fail this way (for testing the platform)'),
  failAttempts: z.number().int().min(1).max(100).default(1).describe('Fail only on attempts up to this one'),
});
type TestSettings = z.infer<typeof settings>;

/**
 * A deterministic engine for testing the platform without COLMAP or a GPU: it reports progress,
 * logs, honours cancellation, fails on request, and writes small but real artifacts.
 */
export const testEngine: Engine<TestSettings> = {
  id: 'test',
  title: 'Test engine',
  description: 'Deterministic stand-in engine for platform tests (RECON_TEST_ENGINES=1).',
  settings,
  limits: { minImages: 1, maxImages: 1000 },
  produces: ['glb', 'predictions'],
  async check() {
    return { ok: true };
  },
  async run(ctx) {
    const { steps, stepMs, failWith, failAttempts } = ctx.settings;
    for (let step = 1; step <= steps; step++) {
      ctx.signal.throwIfAborted();
      await sleep(stepMs, undefined, { signal: ctx.signal });
      ctx.progress('inference', step / steps, `step ${step}/${steps}`);
      ctx.log(`step ${step} of ${steps} over ${ctx.inputs.length} images`);
      if (failWith !== 'none' && ctx.attempt <= failAttempts && step === Math.ceil(steps / 2)) {
        if (failWith === 'crash') throw new TypeError('simulated engine bug');
        throw new EngineError(`simulated ${failWith} failure at step ${step}`, {
          transient: failWith === 'transient',
          hint: 'This is the test engine doing what its failWith setting asked',
        });
      }
    }
    ctx.progress('exporting', 0.95, 'writing artifacts');
    const cameras = ringOfCameras(ctx.inputs.length);
    const predictions = join(ctx.workDir, 'predictions.npz');
    const names = ctx.inputs.map((p) => basename(p));
    const width = Math.max(1, ...names.map((n) => n.length));
    await writeNpz(predictions, {
      extrinsic: { dtype: '<f4', shape: [cameras.length, 3, 4], fortranOrder: false, data: Float32Array.from(cameras.flat()) },
      intrinsic: {
        dtype: '<f4',
        shape: [cameras.length, 3, 3],
        fortranOrder: false,
        data: Float32Array.from(cameras.flatMap(() => [500, 0, 320, 0, 500, 240, 0, 0, 1])),
      },
      image_names: { dtype: `<U${width}`, shape: [names.length], fortranOrder: false, data: names },
    });
    await ctx.putArtifact('predictions', predictions);
    const scene = join(ctx.workDir, 'scene.glb');
    const { glb } = await buildSceneGlb(texturedCube(), cameras.map((extrinsic) => ({ extrinsic })), ctx.settings);
    await writeFile(scene, glb);
    await ctx.putArtifact('glb', scene);
  },
};
