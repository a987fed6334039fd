import { binGaussians } from './binning.ts';
import { type Camera, cameraCenter } from './camera.ts';
import type { Executor } from './executor.ts';
import { FRAME, TILE, type Workspace } from './workspace.ts';

export interface PassOptions {
  count: number;
  shDegree: number;
  background: readonly [number, number, number];
}

/** Writes the camera and pass constants into the frame and sizes the per-pixel buffers. */
export function setCamera(ws: Workspace, camera: Camera, options: PassOptions): void {
  ws.ensure({ pixels: camera.width * camera.height, rows: camera.height });
  const f = ws.a.frame;
  for (let k = 0; k < 9; k++) f[FRAME.viewmat + k] = camera.rotation[k]!;
  for (let k = 0; k < 3; k++) f[FRAME.viewmat + 9 + k] = camera.translation[k]!;
  f[FRAME.fx] = camera.fx;
  f[FRAME.fy] = camera.fy;
  f[FRAME.cx] = camera.cx;
  f[FRAME.cy] = camera.cy;
  f[FRAME.width] = camera.width;
  f[FRAME.height] = camera.height;
  const center = cameraCenter(camera);
  for (let k = 0; k < 3; k++) f[FRAME.center + k] = center[k]!;
  f[FRAME.shDegree] = options.shDegree;
  for (let k = 0; k < 3; k++) f[FRAME.background + k] = options.background[k]!;
  f[FRAME.count] = options.count;
  f[FRAME.tilesX] = Math.ceil(camera.width / TILE);
  f[FRAME.tilesY] = Math.ceil(camera.height / TILE);
}

/** Timings of one forward pass, in milliseconds. */
export interface PassTimings {
  project: number;
  bin: number;
  rasterize: number;
}

/** Projects, bins and composites the workspace's Gaussians for the frame's camera into `image`. */
export async function renderPass(ws: Workspace, executor: Executor, timings?: PassTimings): Promise<number> {
  const t = performance.now();
  await executor.run('project');
  const t1 = performance.now();
  const isects = binGaussians(ws);
  const t2 = performance.now();
  await executor.run('rasterizeForward');
  if (timings) {
    timings.project += t1 - t;
    timings.bin += t2 - t1;
    timings.rasterize += performance.now() - t2;
  }
  return isects;
}
