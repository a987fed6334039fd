import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { invalidRequest } from '../../domain/problems.ts';
import { resourceId } from '../../contract/resource-id.ts';
import type { HttpDeps } from '../deps.ts';
import { stageBatch } from '../multipart-batch.ts';
import { problems } from '../../contract/problem.ts';
import { batchStatus, createdBatch, fromRunsBody, MAX_BATCH_RUNS, runSpecs } from '../../contract/batches.ts';

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors = parsed.error.issues.map((i) => ({ path: [what, ...i.path].join('.'), message: i.message }));
  throw invalidRequest(errors, what);
}

/** Batches: several runs created (with their files) or grouped, queued and followed as one. */
export const batchRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { batches, runs, uploads, webhooks }) => {
  app.post(
    '/api/batch/runs',
    {
      schema: {
        tags: ['batches'],
        summary: 'Create a batch of runs',
        description:
          'multipart/form-data: a `runs` field (JSON array of {engine?, settings?, webhookUrl?}) first, then each run\'s files ' +
          'in fields run0, run1, …; an optional `webhookUrl` field receives batch.completed. Or JSON {runIds, webhookUrl?} to ' +
          'batch existing runs (those still taking images are queued). Nothing is left behind when any part is refused.',
        consumes: ['multipart/form-data', 'application/json'],
        response: { 202: createdBatch, ...problems(400, 404, 413, 415, 422, 429, 507) },
      },
    },
    async (request, reply) => {
      const assertUrl = (url: string, field: string) => webhooks.assertAcceptableUrl(url, field);
      let batch: Awaited<ReturnType<typeof batches.status>>;
      if (request.isMultipart()) {
        let specs: z.infer<typeof runSpecs> = [];
        const limits = runs.limits;
        const staged = await stageBatch(
          request,
          uploads,
          {
            maxFileBytes: limits.maxFileBytes,
            maxRunBytes: limits.maxRunBytes,
            maxFiles: MAX_BATCH_RUNS * limits.maxImages,
          },
          (value) => {
            specs = parse(runSpecs, value, 'runs');
            const engines = batches.validateSpecs(specs, assertUrl);
            return engines.map((engine) => ({ maxImages: Math.min(limits.maxImages, engine.limits.maxImages) }));
          },
        );
        try {
          if (staged.webhookUrl) {
            parse(z.string().url(), staged.webhookUrl, 'webhookUrl');
            assertUrl(staged.webhookUrl, 'webhookUrl');
          }
          batch = await batches.createWithImages(request.owner, specs, staged.files, staged.webhookUrl);
        } finally {
          await staged.cleanup();
        }
      } else {
        const body = parse(fromRunsBody, request.body, 'body');
        if (body.webhookUrl) assertUrl(body.webhookUrl, 'webhookUrl');
        batch = await batches.createFromRuns(request.owner, body.runIds, body.webhookUrl);
      }
      return reply
        .status(202)
        .header('location', `/api/batch/runs/${batch.batchId}/status`)
        .send({ batchId: batch.batchId, runIds: batch.runIds, status: batch.status });
    },
  );

  app.get(
    '/api/batch/runs/:batchId/status',
    {
      schema: {
        tags: ['batches'],
        summary: "A batch's progress: how many of its runs are queued, processing, completed, failed, canceled",
        params: z.object({ batchId: resourceId('Batch id') }),
        response: { 200: batchStatus, ...problems(404) },
      },
    },
    async (request) => batches.status(request.params.batchId, request.owner),
  );
};
