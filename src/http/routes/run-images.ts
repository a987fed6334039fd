import { join } from 'node:path';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from '../deps.ts';
import { stageImages } from '../multipart-images.ts';
import { problems, runIdParams, uploadResult } from '../schemas.ts';

/** Image uploads: streamed to disk, checked, and added to the run all at once or not at all. */
export const runImagesRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { runs, config }) => {
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
      const allowance = await runs.uploadAllowance(runId, request.owner);
      const { staged, cleanup } = await stageImages(request, join(config.dataDir, 'tmp'), {
        ...allowance,
        maxFileBytes: runs.limits.maxFileBytes,
      });
      try {
        const run = await runs.addImages(runId, staged, request.owner);
        return { runId, imagesUploaded: staged.length, images: run.images, stored: run.stored };
      } finally {
        await cleanup();
      }
    },
  );
};
