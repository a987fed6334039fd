import { z } from 'zod';

/** How an uploaded video becomes frames (for every engine: the run's first stage reads them). */
export const videoSettings = z.object({
  videoFrames: z
    .number()
    .int()
    .min(2)
    .max(2000)
    .default(60)
    .describe('Frames taken from each uploaded video: the sharpest one of each equal stretch of it'),
  videoFps: z
    .number()
    .positive()
    .max(60)
    .optional()
    .describe('Instead of videoFrames: frames per second of video (the sharpest one of each 1/fps seconds)'),
  videoMaxWidth: z.number().int().min(64).max(8192).default(1920).describe('Frames wider than this are scaled down'),
});
export type VideoSettings = z.infer<typeof videoSettings>;

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
  ...videoSettings.shape,
});
export type BaseSettings = z.infer<typeof baseSettings>;
