import { join } from 'node:path';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../../core/problem.ts';
import { detectImageType, IMAGE_SNIFF_BYTES } from '../../formats/image-type.ts';
import type { HttpDeps } from '../deps.ts';
import { stageImages } from '../multipart-images.ts';
import { problems, runIdParams, uploadResult } from '../schemas.ts';

/** Image uploads: streamed to disk, checked, and added to the run all at once or not at all. */
export const runImagesRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { runs, config, blobs }) => {
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

  app.get(
    '/api/runs/:runId/images/:name',
    {
      schema: {
        tags: ['runs'],
        summary: "One of the run's input images, as stored",
        params: runIdParams.extend({ name: z.string().min(1).max(255) }),
        response: { 200: z.any(), 304: z.null(), ...problems(404) },
      },
    },
    async (request, reply) => {
      const { runId, name } = request.params;
      // Only names the run actually holds are served, so no key is ever built from raw input.
      const run = await runs.get(runId, request.owner);
      if (!run.images.includes(name)) throw notFound(`Image of run ${runId}`, name);
      const key = `images/${name}`;
      const info = await blobs.stat(runId, key);
      if (!info) throw notFound(`Image of run ${runId}`, name);
      const head = await readHead(blobs.read(runId, key, { start: 0, end: IMAGE_SNIFF_BYTES - 1 }));
      reply
        .header('etag', info.etag)
        .header('last-modified', info.modifiedAt.toUTCString())
        .header('cache-control', 'private, max-age=0, must-revalidate')
        .header('x-content-type-options', 'nosniff')
        .header('content-disposition', `inline; filename*=UTF-8''${encodeURIComponent(name)}`)
        .type(detectImageType(head)?.mime ?? 'application/octet-stream');
      if (request.headers['if-none-match'] === info.etag) return reply.status(304).send(null);
      return reply.header('content-length', info.bytes).send(blobs.read(runId, key));
    },
  );
};

async function readHead(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}
