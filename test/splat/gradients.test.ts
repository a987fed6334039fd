import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InlineExecutor } from '../../src/splat/executor.ts';
import { loadCloud } from '../../src/splat/gaussian-cloud.ts';
import { lossAndGradients } from '../../src/splat/gradient-pass.ts';
import { setCamera } from '../../src/splat/render-pass.ts';
import { FRAME, type ParamGroup, Workspace } from '../../src/splat/workspace.ts';
import { lookAtCamera, randomCloud } from './fixtures.ts';

const GROUPS: [ParamGroup, 'gradMeans' | 'gradLogScales' | 'gradQuats' | 'gradOpacities' | 'gradSh0' | 'gradShN'][] = [
  ['means', 'gradMeans'],
  ['logScales', 'gradLogScales'],
  ['quats', 'gradQuats'],
  ['opacities', 'gradOpacities'],
  ['sh0', 'gradSh0'],
  ['shN', 'gradShN'],
];

/**
 * The analytic backward pass (compositing, EWA projection, SH view dependence, the L1 + SSIM
 * loss) against central differences of the full loss, for every parameter group. The kernels
 * run on float64 buffers so the differences are not swamped by float32 rounding; two parts
 * exercise the per-thread gradient reduction.
 */
test('the backward pass matches finite differences for every parameter group', async () => {
  const width = 32;
  const height = 24;
  const count = 8;
  const ws = new Workspace({ float: Float64Array, threads: 2, maxShDegree: 3 });
  const executor = new InlineExecutor(ws);
  // Overlapping, semi-transparent Gaussians big enough to cover several tiles, SH degree 3.
  const cloud = randomCloud(count, 1, { Float: Float64Array, extent: 0.5, logScale: Math.log(0.35) });
  loadCloud(ws, cloud);
  setCamera(ws, lookAtCamera([0.3, -0.4, 3], width, height, 30), { count, shDegree: 3, background: [0.1, 0.2, 0.3] });
  ws.a.frame[FRAME.ssimWeight] = 0.2;
  for (let i = 0; i < width * height * 3; i++) ws.a.target[i] = (Math.sin(i * 0.37) + 1) / 2;
  const loss = async () => (await lossAndGradients(ws, executor)).loss;
  const base = await lossAndGradients(ws, executor);
  assert.ok(base.isects > count * 2, `the Gaussians overlap several tiles (${base.isects} intersections)`);

  const h = 1e-6;
  const errors: Record<string, number> = {};
  for (const [group, gradName] of GROUPS) {
    const n = cloud[group].length;
    const analytic = Float64Array.from(ws.a[gradName].subarray(0, n));
    const params = ws.a[group];
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < n; i++) {
      const v = params[i]!;
      params[i] = v + h;
      const plus = await loss();
      params[i] = v - h;
      const minus = await loss();
      params[i] = v;
      const fd = (plus - minus) / (2 * h);
      diff += (analytic[i]! - fd) ** 2;
      norm += fd * fd;
    }
    assert.ok(norm > 1e-12, `${group}: the loss depends on it`);
    errors[group] = Math.sqrt(diff / norm);
  }
  console.log('relative error ‖analytic − FD‖/‖FD‖ per group:', Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, v.toExponential(2)])));
  for (const [group, error] of Object.entries(errors)) assert.ok(error < 1e-3, `${group}: relative error ${error}`);
});
