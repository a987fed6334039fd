import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { blueprintIdParams, blueprintPartParams, exportBody, exportView } from '../../contract/blueprints.ts';
import { problems } from '../../contract/problem.ts';
import type { HttpDeps } from '../deps.ts';
import { sendStoredFile } from '../send-stored-file.ts';

const tags = ['blueprints'];

/** Dataset exports: COCO + YOLO + MVTec masks + manifest in one reproducible ZIP. */
export const blueprintExportRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { blueprintExports }) => {
  app.post(
    '/api/blueprints/:blueprintId/exports',
    {
      schema: {
        tags,
        summary: 'Export the dataset (approved images by default, originals as negatives, train/val split by photo)',
        params: blueprintIdParams,
        body: exportBody,
        response: { 201: exportView, ...problems(400, 404, 422) },
      },
    },
    async (request, reply) => reply.status(201).send(await blueprintExports.export(request.owner, request.params.blueprintId, request.body)),
  );

  app.get(
    '/api/blueprints/:blueprintId/exports',
    { schema: { tags, summary: "The blueprint's exports, newest first", params: blueprintIdParams, response: { 200: z.object({ exports: z.array(exportView) }), ...problems(404) } } },
    async (request) => ({ exports: await blueprintExports.list(request.owner, request.params.blueprintId) }),
  );

  app.get(
    '/api/blueprints/:blueprintId/exports/:partId/download',
    { schema: { tags, summary: 'Download an export (application/zip)', params: blueprintPartParams, response: { 200: z.any(), 206: z.any(), 304: z.null(), ...problems(404, 416) } } },
    async (request, reply) => {
      const file = await blueprintExports.file(request.owner, request.params.blueprintId, request.params.partId);
      return sendStoredFile(request, reply, file, { disposition: 'attachment', what: 'export' });
    },
  );
};
