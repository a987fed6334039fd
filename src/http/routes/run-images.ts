import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problems } from '../../contract/problem.ts';
import { imageNameParam, runIdParams, uploadResult } from '../../contract/runs.ts';
import type { HttpDeps } from '../deps.ts';
import { imageParts } from '../multipart-images.ts';
import { sendStoredFile } from '../send-stored-file.ts';

/** Image uploads: streamed to their place in the blob store, checked, and added to the run all at once or not at all. */
export const runImagesRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { runs, uploads, files }) => {
  app.post(
    '/api/runs/:runId/images',
    {
      schema: {
        tags: ['runs'],
        summary: 'Upload images (multipart/form-data, one or more files)',
        consumes: ['multipart/form-data'],
        params: runIdParams,
        response: { 200: uploadResult, ...problems(400, 404, 409, 413, 415, 422) },
      },
    },
    async (request) => {
      const { runId } = request.params;
      const run = await uploads.upload(runId, request.owner, imageParts(request, runs.limits.maxFileBytes));
      return { runId, imagesUploaded: run.stored.length, images: run.images, stored: run.stored };
    },
  );

  app.get(
    '/api/runs/:runId/images/:name',
    {
      schema: {
        tags: ['runs'],
        summary: "One of the run's input images, as stored",
        params: runIdParams.extend({ name: imageNameParam }),
        response: { 200: z.any(), 206: z.any(), 304: z.null(), ...problems(404, 416) },
      },
    },
    async (request, reply) => {
      const { runId, name } = request.params;
      const file = await files.image(runId, name, request.owner);
      return sendStoredFile(request, reply, file, { disposition: 'inline', what: 'image' });
    },
  );
};
