import { adamKernel } from './adam.ts';
import { lossBackHorizontalKernel, lossBackVerticalKernel, lossHorizontalKernel, lossVerticalKernel } from './loss.ts';
import { projectKernel } from './project.ts';
import { projectBackwardKernel } from './project-backward.ts';
import { rasterizeBackwardKernel } from './rasterize-backward.ts';
import { rasterizeForwardKernel } from './rasterize-forward.ts';
import type { Arrays } from './workspace.ts';

/**
 * Every data-parallel pass, by name, so the worker threads and the in-thread executor run the
 * same code. A kernel does part `part` of `parts` of its work; the split depends only on the
 * data, never on timing, so results are reproducible.
 */
export const KERNELS = {
  project: projectKernel,
  rasterizeForward: rasterizeForwardKernel,
  lossHorizontal: lossHorizontalKernel,
  lossVertical: lossVerticalKernel,
  lossBackVertical: lossBackVerticalKernel,
  lossBackHorizontal: lossBackHorizontalKernel,
  rasterizeBackward: rasterizeBackwardKernel,
  projectBackward: projectBackwardKernel,
  adam: adamKernel,
} satisfies Record<string, (a: Arrays, part: number, parts: number) => void>;

export type KernelName = keyof typeof KERNELS;
