import { type Arrays, FRAME, type FloatArray, groupWidth, PARAM_GROUPS } from './workspace.ts';

type Triple = [param: FloatArray, m: FloatArray, v: FloatArray, grad: FloatArray];

function groups(a: Arrays): Triple[] {
  return [
    [a.means, a.mMeans, a.vMeans, a.gradMeans],
    [a.logScales, a.mLogScales, a.vLogScales, a.gradLogScales],
    [a.quats, a.mQuats, a.vQuats, a.gradQuats],
    [a.opacities, a.mOpacities, a.vOpacities, a.gradOpacities],
    [a.sh0, a.mSh0, a.vSh0, a.gradSh0],
    [a.shN, a.mShN, a.vShN, a.gradShN],
  ];
}

/**
 * Adam (as torch.optim.Adam: bias-corrected step size, ε added to the corrected root) over
 * this thread's share of every parameter group, each with its learning rate from `frame`.
 * Dense, like gsplat's default: Gaussians the view missed still follow their momentum.
 */
export function adamKernel(a: Arrays, part: number, parts: number): void {
  const f = a.frame;
  const count = f[FRAME.count]! | 0;
  const beta1 = f[FRAME.beta1]!;
  const beta2 = f[FRAME.beta2]!;
  const eps = f[FRAME.epsilon]!;
  const t = f[FRAME.adamStep]!;
  const bias1 = 1 - beta1 ** t;
  const rootBias2 = Math.sqrt(1 - beta2 ** t);
  const shWidth = a.shN.length / Math.max(1, a.opacities.length);
  const all = groups(a);
  for (let g = 0; g < all.length; g++) {
    const [p, m, v, grad] = all[g]!;
    const width = PARAM_GROUPS[g] === 'shN' ? shWidth : groupWidth(PARAM_GROUPS[g]!, 0);
    const n = count * width;
    const start = Math.floor((n * part) / parts);
    const end = Math.floor((n * (part + 1)) / parts);
    const step = f[FRAME.lr + g]! / bias1;
    for (let i = start; i < end; i++) {
      const gi = grad[i]!;
      const mi = beta1 * m[i]! + (1 - beta1) * gi;
      const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i]! - (step * mi) / (Math.sqrt(vi) / rootBias2 + eps);
    }
  }
}
