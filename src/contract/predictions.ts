import { z } from 'zod';

const matrix = (rows: number, cols: number) => z.array(z.array(z.number()).length(cols)).length(rows);
const shape = z.array(z.number().int());

export const camerasResponse = z.object({
  numFrames: z.number().int(),
  cameras: z.array(
    z.object({
      index: z.number().int(),
      imageName: z.string().optional(),
      extrinsic: matrix(3, 4).describe('OpenCV camera-from-world [R|t]'),
      intrinsic: matrix(3, 3).optional().describe('Pixels'),
      position: z.array(z.number()).length(3).describe('Camera centre, world coordinates'),
      threeMatrix: z.array(z.number()).length(16).describe("Camera world matrix for three.js, column-major, in scene.glb's frame"),
    }),
  ),
  hasDepth: z.boolean(),
  hasWorldPoints: z.boolean(),
  imageShape: shape.optional(),
  depthShape: shape.optional(),
  worldPointsShape: shape.optional(),
});

export const metadataResponse = z.object({
  numCameras: z.number().int(),
  imageShape: shape.nullable(),
  totalPoints: z.number().int(),
  keys: z.array(z.string()),
});
