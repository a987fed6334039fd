import { covarianceAxes } from './quaternion.ts';
import type { Rng } from './rng.ts';
import type { SplatSettings } from './settings.ts';
import { type Arrays, type FloatArray, groupWidth, PARAM_GROUPS, type Workspace } from './workspace.ts';

export type RefineSettings = Pick<SplatSettings, 'growGrad2d' | 'growScale3d' | 'pruneOpacity' | 'pruneScale3d' | 'resetEvery' | 'maxGaussians'>;

export interface RefineResult {
  count: number;
  duplicated: number;
  split: number;
  pruned: number;
}

/** A split Gaussian's children are this much smaller (gsplat, Inria). */
const SPLIT_SHRINK = 1.6;
const MOMENTS = ['mMeans', 'mLogScales', 'mQuats', 'mOpacities', 'mSh0', 'mShN', 'vMeans', 'vLogScales', 'vQuats', 'vOpacities', 'vSh0', 'vShN'] as const;

/**
 * gsplat's default strategy, one refinement pass: Gaussians whose mean view-space gradient
 * exceeds growGrad2d are cloned when small and split in two (sampled inside, 1/1.6 the size)
 * when large; then those nearly transparent, or (after the first opacity reset) too big, are
 * removed. New Gaussians start with zero Adam moments. Growth stops at maxGaussians, keeping
 * the strongest gradients. Clears the statistics.
 */
export function refine(ws: Workspace, count: number, step: number, settings: RefineSettings, sceneScale: number, rng: Rng): RefineResult {
  const a = ws.a;
  const small = settings.growScale3d * sceneScale;
  const grads = new Float64Array(count);
  const candidates: number[] = [];
  for (let i = 0; i < count; i++) {
    grads[i] = a.gradAccum[i]! / Math.max(1, a.countAccum[i]!);
    if (grads[i]! > settings.growGrad2d) candidates.push(i);
  }
  const budget = Math.max(0, settings.maxGaussians - count);
  if (candidates.length > budget) {
    const ranked = candidates.slice().sort((p, q) => grads[q]! - grads[p]! || p - q);
    candidates.length = 0;
    candidates.push(...ranked.slice(0, budget).sort((p, q) => p - q));
  }
  const duplicate: number[] = [];
  const split: number[] = [];
  for (const i of candidates) (maxScale(a.logScales, i) <= small ? duplicate : split).push(i);

  // gsplat's order: originals not split, then the clones, then the first and second children.
  const splitSet = new Uint8Array(count);
  for (const i of split) splitSet[i] = 1;
  const next = count - split.length + duplicate.length + 2 * split.length;
  const source = new Int32Array(next);
  const fresh = new Uint8Array(next);
  let j = 0;
  for (let i = 0; i < count; i++) if (!splitSet[i]) source[j++] = i;
  for (const i of duplicate) {
    fresh[j] = 1;
    source[j++] = i;
  }
  const firstChild = j;
  for (let b = 0; b < 2; b++) {
    for (const i of split) {
      fresh[j] = 1;
      source[j++] = i;
    }
  }
  gather(ws, count, source, fresh);
  placeChildren(ws.a, firstChild, split.length, rng);

  const pruned = prune(ws, next, step, settings, sceneScale);
  ws.a.gradAccum.fill(0);
  ws.a.countAccum.fill(0);
  return { count: next - pruned, duplicated: duplicate.length, split: split.length, pruned };
}

/** Caps every opacity at 2·pruneOpacity and clears its Adam moments (gsplat's reset_opa). */
export function resetOpacities(ws: Workspace, count: number, pruneOpacity: number): void {
  const cap = Math.log((2 * pruneOpacity) / (1 - 2 * pruneOpacity));
  const { opacities, mOpacities, vOpacities } = ws.a;
  for (let i = 0; i < count; i++) if (opacities[i]! > cap) opacities[i] = cap;
  mOpacities.fill(0, 0, count);
  vOpacities.fill(0, 0, count);
}

function prune(ws: Workspace, count: number, step: number, settings: RefineSettings, sceneScale: number): number {
  const a = ws.a;
  const minLogit = Math.log(settings.pruneOpacity / (1 - settings.pruneOpacity));
  const checkSize = step > settings.resetEvery;
  const big = settings.pruneScale3d * sceneScale;
  const keep: number[] = [];
  for (let i = 0; i < count; i++) {
    if (a.opacities[i]! < minLogit) continue;
    if (checkSize && maxScale(a.logScales, i) > big) continue;
    keep.push(i);
  }
  if (keep.length === count) return 0;
  gather(ws, count, Int32Array.from(keep), undefined);
  return count - keep.length;
}

/** Children are drawn inside their parent: μ + R·(s ⊙ n), n ~ N(0, I), with scales divided by 1.6. */
function placeChildren(a: Arrays, first: number, splits: number, rng: Rng): void {
  const axes = new Float64Array(9);
  const shrink = Math.log(SPLIT_SHRINK);
  for (let j = first; j < first + 2 * splits; j++) {
    covarianceAxes(a.quats, a.logScales, j, axes);
    const n0 = rng.normal();
    const n1 = rng.normal();
    const n2 = rng.normal();
    for (let r = 0; r < 3; r++) a.means[3 * j + r] = a.means[3 * j + r]! + axes[3 * r]! * n0 + axes[3 * r + 1]! * n1 + axes[3 * r + 2]! * n2;
  }
  for (let j = first; j < first + 2 * splits; j++) {
    for (let k = 0; k < 3; k++) a.logScales[3 * j + k] = a.logScales[3 * j + k]! - shrink;
  }
}

/** Rebuilds every per-Gaussian state so entry j comes from entry source[j]; `fresh` entries get zero Adam moments. */
function gather(ws: Workspace, count: number, source: Int32Array, fresh: Uint8Array | undefined): void {
  ws.ensure({ gaussians: source.length });
  const a = ws.a;
  const apply = (array: FloatArray, width: number, zeroFresh: boolean) => {
    const old = array.slice(0, count * width);
    for (let j = 0; j < source.length; j++) {
      const from = source[j]! * width;
      const zero = zeroFresh && fresh?.[j] === 1;
      for (let k = 0; k < width; k++) array[j * width + k] = zero ? 0 : old[from + k]!;
    }
  };
  for (const group of PARAM_GROUPS) apply(a[group], groupWidth(group, ws.maxShDegree), false);
  for (const name of MOMENTS) apply(a[name], groupWidth(momentGroup(name), ws.maxShDegree), true);
  apply(a.gradAccum, 1, true);
  apply(a.countAccum, 1, true);
}

function momentGroup(name: (typeof MOMENTS)[number]): (typeof PARAM_GROUPS)[number] {
  const group = name.slice(1);
  return (group[0]!.toLowerCase() + group.slice(1)) as (typeof PARAM_GROUPS)[number];
}

function maxScale(logScales: FloatArray, i: number): number {
  return Math.exp(Math.max(logScales[3 * i]!, logScales[3 * i + 1]!, logScales[3 * i + 2]!));
}
