import { readNpz } from '../formats/npz.ts';
import { CHECKPOINT_FORMAT, checkpointMembers } from './checkpoint.ts';
import { createExecutor } from './executors.ts';
import { Rng } from './rng.ts';
import { resolveSplatSettings } from './settings.ts';
import { Trainer } from './trainer.ts';
import type { TrainerState } from './trainer-state.ts';
import type { View } from './view.ts';
import { type FloatArray, Workspace } from './workspace.ts';

/**
 * A trainer that continues from a checkpoint over the same training views: with the same
 * thread count (the default: the checkpoint's) it produces what the uninterrupted run would have.
 */
export async function restoreTrainer(path: string, views: readonly View[], options: { threads?: number; inline?: boolean } = {}): Promise<Trainer> {
  const npz = await readNpz(path);
  try {
    const meta = JSON.parse(new TextDecoder().decode(npz.get('meta').data as Uint8Array)) as Omit<TrainerState, 'rng'> & { format: string };
    if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`${path}: not a splat checkpoint (format ${meta.format})`);
    const settings = resolveSplatSettings(meta.settings);
    const threads = options.threads ?? meta.threads;
    const means = npz.get('means');
    const float = means.dtype === '<f8' ? Float64Array : Float32Array;
    const ws = new Workspace({ float, threads, maxShDegree: settings.shDegree });
    ws.ensure({ gaussians: meta.count });
    for (const [name, width] of checkpointMembers(ws)) {
      const array = npz.get(name);
      if (array.shape[0] !== meta.count || array.shape[1] !== width) throw new Error(`${path}: ${name} has shape [${array.shape}], expected [${meta.count}, ${width}]`);
      (ws.a[name] as FloatArray).set(array.data as FloatArray);
    }
    const rng = new Rng(0);
    const trainer = new Trainer({ views, workspace: ws, executor: createExecutor(ws, options.inline), settings, rng, count: meta.count, sceneScale: meta.sceneScale });
    trainer.resume({ ...meta, settings, threads, rng: npz.get('rng').data as Uint32Array });
    return trainer;
  } finally {
    await npz.close();
  }
}
