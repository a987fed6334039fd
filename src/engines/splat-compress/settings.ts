import { z } from 'zod';

export const splatCompressSettings = z.object({
  sogShBands: z
    .union([z.literal('auto'), z.literal(0), z.literal(1), z.literal(2), z.literal(3)])
    .default('auto')
    .describe(
      "Spherical-harmonics bands kept in the SOG file. SOG clusters SH with a k-means that is very slow on a CPU, so 'auto' keeps them only for scenes of at most sogShMaxSplats splats",
    ),
  sogShMaxSplats: z.number().int().min(0).max(100_000_000).default(5000).describe("With sogShBands 'auto': the most splats for which SOG keeps SH bands"),
  sogIterations: z.number().int().min(1).max(100).default(10).describe('k-means iterations of the SOG SH compression'),
  hugeScale: z
    .number()
    .positive()
    .default(4)
    .describe('Cleaning: splats whose largest axis is longer than this many times the scene radius are removed'),
  floaterDistance: z
    .number()
    .positive()
    .default(4)
    .describe('Cleaning: faint splats (see floaterOpacity) farther from the scene centre than this many times the radius holding 90% of them are removed'),
  floaterOpacity: z.number().min(0).max(1).default(0.1).describe('Cleaning: far splats less opaque than this are floaters'),
  minOpacity: z.number().min(0).max(1).default(1 / 255).describe('Cleaning: splats less opaque than this are removed'),
  viewer: z.boolean().default(true).describe('Also write a standalone HTML viewer page (SuperSplat viewer, SH stripped)'),
});
export type SplatCompressSettings = z.infer<typeof splatCompressSettings>;
