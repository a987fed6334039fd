import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problems } from '../../contract/problem.ts';
import { imageNameParam, runIdParams } from '../../contract/runs.ts';
import type { HttpDeps } from '../deps.ts';
import { sendStoredFile } from '../send-stored-file.ts';

/** 256 px JPEG thumbnails of a run's input images, made while the run works. */
export const runThumbnailsRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { files }) => {
  app.get(
    '/api/runs/:runId/thumbnails/:name',
    {
      schema: {
        tags: ['artifacts'],
        summary: 'Thumbnail (JPEG, at most 256 px) of one input image',
        params: runIdParams.extend({ name: imageNameParam }),
        response: { 200: z.any(), 206: z.any(), 304: z.null(), ...problems(404, 416) },
      },
    },
    async (request, reply) => {
      const { runId, name } = request.params;
      const file = await files.thumbnail(runId, name, request.owner);
      return sendStoredFile(request, reply, file, { disposition: 'inline', what: 'thumbnail' });
    },
  );
};
