import { z } from 'zod';
import { baseSettings } from '../../domain/base-settings.ts';

/** COLMAP's camera models (3.8), simplest first. */
export const CAMERA_MODELS = [
  'SIMPLE_PINHOLE',
  'PINHOLE',
  'SIMPLE_RADIAL',
  'RADIAL',
  'OPENCV',
  'FULL_OPENCV',
  'OPENCV_FISHEYE',
  'SIMPLE_RADIAL_FISHEYE',
  'RADIAL_FISHEYE',
  'FOV',
  'THIN_PRISM_FISHEYE',
] as const;

export const colmapSettings = baseSettings.extend({
  maxImageSize: z
    .number()
    .int()
    .min(100)
    .max(10000)
    .default(1600)
    .describe('Longest side, in pixels, that images are scaled down to for feature extraction (cameras stay in full-size pixels)'),
  matcher: z
    .enum(['auto', 'exhaustive', 'sequential'])
    .default('auto')
    .describe(
      'How image pairs are chosen for matching: exhaustive (every pair; best for unordered photos), sequential (neighbours in filename order; for video frames), or auto (exhaustive up to exhaustiveMaxImages images, sequential above)',
    ),
  exhaustiveMaxImages: z
    .number()
    .int()
    .min(2)
    .max(1000)
    .default(50)
    .describe('With matcher "auto": the largest image count still matched exhaustively'),
  cameraModel: z
    .enum(CAMERA_MODELS)
    .default('SIMPLE_RADIAL')
    .describe('COLMAP camera model to estimate (predictions.npz keeps only its pinhole part)'),
  singleCamera: z.boolean().default(false).describe('All photos were taken with one camera and one zoom setting: share one set of intrinsics'),
  numThreads: z.number().int().min(-1).max(256).default(-1).describe('CPU threads COLMAP may use (-1 = all cores)'),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(3600)
    .describe('The run fails if COLMAP takes longer than this, in seconds'),
});
export type ColmapSettings = z.infer<typeof colmapSettings>;
