import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refine, resetOpacities } from '../../src/splat/densify.ts';
import { loadCloud } from '../../src/splat/gaussian-cloud.ts';
import { Rng } from '../../src/splat/rng.ts';
import { resolveSplatSettings } from '../../src/splat/settings.ts';
import { Workspace } from '../../src/splat/workspace.ts';
import { randomCloud } from './fixtures.ts';

const settings = resolveSplatSettings({ preset: 'standard' });

function workspace() {
  const ws = new Workspace({ threads: 1, maxShDegree: 1 });
  const cloud = randomCloud(5, 1, { shDegree: 1 });
  cloud.logScales.set([Math.log(0.005), Math.log(0.003), Math.log(0.004)], 0); // small: cloned
  cloud.logScales.set([Math.log(0.5), Math.log(0.2), Math.log(0.1)], 3); // large: split
  cloud.logScales.set([Math.log(0.005), Math.log(0.005), Math.log(0.005)], 6);
  cloud.logScales.set([Math.log(0.05), Math.log(0.05), Math.log(0.05)], 9);
  cloud.logScales.set([Math.log(0.05), Math.log(0.05), Math.log(0.05)], 12);
  cloud.opacities.set([0, 0, 0, -10, 0]); // Gaussian 3 is nearly transparent: pruned
  loadCloud(ws, cloud);
  // Mean NDC gradients: 0 and 1 above growGrad2d, 2 below, 3 above but about to be pruned.
  ws.a.gradAccum.set([6e-4, 9e-4, 1e-4, 1, 0]);
  ws.a.countAccum.set([2, 3, 2, 1, 0]);
  ws.a.mMeans.fill(1, 0, 15);
  return { ws, cloud };
}

test('refinement clones small, splits large, prunes transparent Gaussians (gsplat order)', () => {
  const { ws, cloud } = workspace();
  const result = refine(ws, 5, 1000, settings, 1, new Rng(1));
  assert.deepEqual(result, { count: 6, duplicated: 1, split: 2, pruned: 2 });
  const a = ws.a;
  // Kept originals 0, 2, 4; then the clone of 0; then the children of 1 (3's were pruned).
  assert.deepEqual([...a.logScales.subarray(0, 3)], [...cloud.logScales.subarray(0, 3)]);
  assert.deepEqual([...a.means.subarray(9, 12)], [...cloud.means.subarray(0, 3)]);
  for (const child of [4, 5]) {
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(a.logScales[3 * child + k]! - (cloud.logScales[3 + k]! - Math.log(1.6))) < 1e-6);
    const offset = Math.hypot(...[0, 1, 2].map((k) => a.means[3 * child + k]! - cloud.means[3 + k]!));
    assert.ok(offset > 0 && offset < 3 * 0.5, `child ${child} is inside its parent (${offset})`);
  }
  assert.deepEqual([...a.mMeans.subarray(0, 9)], new Array(9).fill(1), 'survivors keep their moments');
  assert.deepEqual([...a.mMeans.subarray(9, 18)], new Array(9).fill(0), 'new Gaussians start with zero moments');
  assert.equal(a.gradAccum[0], 0, 'statistics cleared');
});

test('growth stops at maxGaussians, keeping the largest gradients', () => {
  const { ws } = workspace();
  const result = refine(ws, 5, 1000, { ...settings, maxGaussians: 6 }, 1, new Rng(1));
  // Budget 1: only Gaussian 3 (the largest gradient) grows (split), and is then pruned with its children.
  assert.equal(result.duplicated + result.split, 1);
  assert.equal(result.split, 1);
});

test('an opacity reset caps opacities at twice the prune threshold and clears their moments', () => {
  const { ws } = workspace();
  ws.a.mOpacities.fill(1);
  resetOpacities(ws, 5, 0.005);
  const cap = Math.log(0.01 / 0.99);
  for (let i = 0; i < 5; i++) assert.ok(ws.a.opacities[i]! <= cap + 1e-6);
  assert.equal(ws.a.opacities[3], -10);
  assert.equal(ws.a.mOpacities[0], 0);
});
