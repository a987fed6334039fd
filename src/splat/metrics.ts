import type { Executor } from './executor.ts';
import { lossValue } from './loss.ts';
import { FRAME, type Workspace } from './workspace.ts';

/** PSNR in dB of `image` (clamped to 0..1) against `target`, both RGB 0..1. */
export function psnr(image: ArrayLike<number>, target: ArrayLike<number>, length = target.length): number {
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const v = image[i]!;
    const d = (v < 0 ? 0 : Math.min(v, 1)) - target[i]!;
    sum += d * d;
  }
  const mse = sum / length;
  return mse === 0 ? Infinity : -10 * Math.log10(mse);
}

/**
 * SSIM (11×11 Gaussian window, σ 1.5, valid positions, mean over RGB) of the workspace's
 * rendered `image`, clamped to 0..1 first, against its `target`; runs the loss's own passes.
 */
export async function workspaceSsim(ws: Workspace, executor: Executor): Promise<number> {
  const { image, frame } = ws.a;
  const n = (frame[FRAME.width]! * frame[FRAME.height]! * 3) | 0;
  for (let i = 0; i < n; i++) {
    const v = image[i]!;
    if (v < 0) image[i] = 0;
    else if (v > 1) image[i] = 1;
  }
  await executor.run('lossHorizontal');
  await executor.run('lossVertical');
  return lossValue(ws.a).ssim;
}
