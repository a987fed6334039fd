import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from '../deps.ts';
import { camerasResponse, metadataResponse } from '../../contract/predictions.ts';
import { problems } from '../../contract/problem.ts';
import { runIdParams } from '../../contract/runs.ts';

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
