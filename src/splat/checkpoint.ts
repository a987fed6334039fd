import type { NdArray } from '../formats/npy.ts';
import { writeNpz } from '../formats/npz.ts';
import type { TrainerState } from './trainer-state.ts';
import { type Arrays, type FloatArray, groupWidth, PARAM_GROUPS, type Workspace } from './workspace.ts';

/** Per-Gaussian state saved with its width: parameters, both Adam moments, densification statistics. */
export function checkpointMembers(ws: Workspace): [keyof Arrays, number][] {
  const out: [keyof Arrays, number][] = [];
  for (const group of PARAM_GROUPS) {
    const width = groupWidth(group, ws.maxShDegree);
    const cap = group[0]!.toUpperCase() + group.slice(1);
    out.push([group, width], [`m${cap}` as keyof Arrays, width], [`v${cap}` as keyof Arrays, width]);
  }
  out.push(['gradAccum', 1], ['countAccum', 1]);
  return out;
}

export const CHECKPOINT_FORMAT = 'recon-splat-checkpoint/1';

/**
 * Writes everything a run needs to continue exactly where it stopped (an .npz numpy can read):
 * parameters, Adam moments, densification statistics, the step, the view order, the RNG
 * state and the settings. Atomic: the file is whole or absent.
 */
export async function writeCheckpoint(path: string, ws: Workspace, state: TrainerState): Promise<void> {
  const arrays: Record<string, NdArray> = {};
  const dtype = ws.float === Float64Array ? '<f8' : '<f4';
  for (const [name, width] of checkpointMembers(ws)) {
    const data = (ws.a[name] as FloatArray).slice(0, state.count * width);
    arrays[name] = { dtype, shape: [state.count, width], fortranOrder: false, data };
  }
  arrays.rng = { dtype: '<u4', shape: [4], fortranOrder: false, data: Uint32Array.from(state.rng) };
  const meta = { format: CHECKPOINT_FORMAT, ...state, rng: undefined };
  arrays.meta = { dtype: '|u1', shape: [0], fortranOrder: false, data: new TextEncoder().encode(JSON.stringify(meta)) };
  arrays.meta.shape = [arrays.meta.data.length];
  await writeNpz(path, arrays);
}
