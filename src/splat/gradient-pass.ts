import type { Executor } from './executor.ts';
import { lossValue } from './loss.ts';
import { type PassTimings, renderPass } from './render-pass.ts';
import type { Workspace } from './workspace.ts';

/** Milliseconds per phase of one training step. */
export interface StepTimings extends PassTimings {
  loss: number;
  rasterizeBackward: number;
  projectBackward: number;
  adam: number;
  densify: number;
}

export const emptyTimings = (): StepTimings => ({ project: 0, bin: 0, rasterize: 0, loss: 0, rasterizeBackward: 0, projectBackward: 0, adam: 0, densify: 0 });

/**
 * Renders the frame's camera, scores it against `target` and leaves dLoss/dparameter in the
 * grad* buffers (and the densification statistics updated when the frame asks for them).
 */
export async function lossAndGradients(ws: Workspace, executor: Executor, timings?: StepTimings): Promise<ReturnType<typeof lossValue> & { isects: number }> {
  const isects = await renderPass(ws, executor, timings);
  const t0 = performance.now();
  await executor.run('lossHorizontal');
  await executor.run('lossVertical');
  await executor.run('lossBackVertical');
  await executor.run('lossBackHorizontal');
  const t1 = performance.now();
  await executor.run('rasterizeBackward');
  const t2 = performance.now();
  await executor.run('projectBackward');
  if (timings) {
    timings.loss += t1 - t0;
    timings.rasterizeBackward += t2 - t1;
    timings.projectBackward += performance.now() - t2;
  }
  return { ...lossValue(ws.a), isects };
}
