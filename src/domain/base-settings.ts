import { z } from 'zod';

/**
 * The seed's `VGGTSettings`, shared by every engine. Engines extend this object with keys of
 * their own; defaults follow the VGGT Space's UI.
 */
export const baseSettings = z.object({
  confThreshold: z
    .number()
    .min(0)
    .max(100)
    .default(50)
    .describe('Confidence percentile (0–100): points below it are dropped from the scene'),
  predictionMode: z
    .enum(['pointmap', 'depth'])
    .default('depth')
    .describe('Which branch builds the point cloud: the point map, or depth maps with cameras'),
  maskBlackBg: z.boolean().default(false).describe('Drop near-black points (background)'),
  maskWhiteBg: z.boolean().default(false).describe('Drop near-white points (background)'),
  maskSky: z.boolean().default(false).describe('Drop sky points (engines with a sky mask only)'),
  showCameras: z.boolean().default(true).describe('Draw camera frustums in the scene'),
});
export type BaseSettings = z.infer<typeof baseSettings>;
