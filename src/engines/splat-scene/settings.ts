import { z } from 'zod';

export const splatSceneSettings = z.object({
  maxImageSize: z
    .number()
    .int()
    .min(64)
    .max(8192)
    .default(1600)
    .describe('Longest side, in pixels, of the undistorted images (training scales them down further to its working width)'),
  maxPoints: z
    .number()
    .int()
    .min(100)
    .max(5_000_000)
    .default(200_000)
    .describe('From dense predictions (VGGT, DA3): at most this many of the most confident points seed the Gaussians'),
  confPercentile: z
    .number()
    .min(0)
    .max(100)
    .default(50)
    .describe('From dense predictions: points below this confidence percentile are dropped'),
  timeoutSeconds: z.number().int().min(1).max(24 * 3600).default(1800).describe('The stage fails if COLMAP takes longer than this'),
});
export type SplatSceneSettings = z.infer<typeof splatSceneSettings>;

/** What splat-scene.zip holds: `images/<name>` and an undistorted pinhole COLMAP model in `sparse/`. */
export const SCENE_IMAGES = 'images';
export const SCENE_MODEL = 'sparse';
