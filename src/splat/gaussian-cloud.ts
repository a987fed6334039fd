import { type FloatArray, groupWidth, type Workspace } from './workspace.ts';

/**
 * A set of 3D Gaussians in raw (pre-activation) parameters, as the 3DGS PLY stores them:
 * log-scales, opacity logits, unnormalised wxyz quaternions, SH DC and the higher SH
 * coefficients coefficient-major with RGB innermost ((degree+1)²−1 triples per Gaussian).
 */
export interface GaussianCloud {
  count: number;
  shDegree: number;
  means: FloatArray;
  logScales: FloatArray;
  quats: FloatArray;
  opacities: FloatArray;
  sh0: FloatArray;
  shN: FloatArray;
}

const GROUPS = ['means', 'logScales', 'quats', 'opacities', 'sh0', 'shN'] as const;

/** Copies a cloud into the workspace's parameters (a lower SH degree leaves the rest at 0); clears optimiser state. */
export function loadCloud(ws: Workspace, cloud: GaussianCloud): void {
  ws.ensure({ gaussians: cloud.count });
  const a = ws.a;
  for (const group of GROUPS) {
    const width = groupWidth(group, ws.maxShDegree);
    const source = cloud[group];
    const sourceWidth = groupWidth(group, cloud.shDegree);
    const target = a[group];
    target.fill(0, 0, cloud.count * width);
    const copy = Math.min(width, sourceWidth);
    for (let i = 0; i < cloud.count; i++) {
      for (let k = 0; k < copy; k++) target[i * width + k] = source[i * sourceWidth + k]!;
    }
  }
  for (const name of ['mMeans', 'mLogScales', 'mQuats', 'mOpacities', 'mSh0', 'mShN', 'vMeans', 'vLogScales', 'vQuats', 'vOpacities', 'vSh0', 'vShN', 'gradAccum', 'countAccum'] as const) {
    a[name].fill(0);
  }
}

/** A float32 copy of the first `count` Gaussians of the workspace. */
export function readCloud(ws: Workspace, count: number): GaussianCloud {
  const out = { count, shDegree: ws.maxShDegree } as GaussianCloud;
  for (const group of GROUPS) out[group] = Float32Array.from(ws.a[group].subarray(0, count * groupWidth(group, ws.maxShDegree)));
  return out;
}
