import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Problem } from '../../core/problem.ts';
import { thumbnailKey } from '../../postprocess/thumbnails.ts';
import type { HttpDeps } from '../deps.ts';
import { problems, runIdParams } from '../schemas.ts';

const imageName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^(?!\.{1,2}$)[^/\\]+$/, 'an image name of the run, as listed in its `images`');

/** 256 px JPEG thumbnails of a run's input images, made after the run succeeded. */
export const runThumbnailsRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { runs, blobs }) => {
  app.get(
    '/api/runs/:runId/thumbnails/:name',
    {
      schema: {
        tags: ['artifacts'],
        summary: 'Thumbnail (JPEG, at most 256 px) of one input image',
        params: runIdParams.extend({ name: imageName }),
        response: { 200: z.any(), 304: z.null(), ...problems(404) },
      },
    },
    async (request, reply) => {
      const { runId, name } = request.params;
      await runs.findOwned(runId, request.owner);
      const key = thumbnailKey(name);
      const info = await blobs.stat(runId, key);
      if (!info) throw new Problem(404, 'Not Found', `Run ${runId} has no thumbnail of "${name}" (thumbnails are made when a run completes)`);
      reply.header('etag', info.etag).header('cache-control', 'private, max-age=0, must-revalidate').type('image/jpeg');
      if (request.headers['if-none-match'] === info.etag) return reply.status(304).send(null);
      return reply.header('content-length', info.bytes).send(blobs.read(runId, key));
    },
  );
};
