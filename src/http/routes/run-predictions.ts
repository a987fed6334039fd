import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import { problems, runIdParams } from '../schemas.ts';

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

/** What predictions.npz holds, without Python. */
export const runPredictionsRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { predictions }) => {
  app.get(
    '/api/runs/:runId/cameras',
    {
      schema: {
        tags: ['artifacts'],
        summary: 'Cameras from predictions.npz',
        params: runIdParams,
        response: { 200: camerasResponse, ...problems(404, 422) },
      },
    },
    async (request) => predictions.cameras(request.params.runId, request.owner),
  );

  app.get(
    '/api/runs/:runId/predictions/metadata',
    {
      schema: {
        tags: ['artifacts'],
        summary: 'Camera count, image shape, point count and keys of predictions.npz',
        params: runIdParams,
        response: { 200: metadataResponse, ...problems(404, 422) },
      },
    },
    async (request) => predictions.metadata(request.params.runId, request.owner),
  );
};
