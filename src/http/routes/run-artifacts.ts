import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problems } from '../../contract/problem.ts';
import { runIdParams } from '../../contract/runs.ts';
import { artifactType } from '../../domain/artifacts.ts';
import type { HttpDeps } from '../deps.ts';
import { sendStoredFile } from '../send-stored-file.ts';

/** Artifact downloads with ETag, Range and a file name a browser keeps. */
export const runArtifactsRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { files }) => {
  app.get(
    '/api/runs/:runId/artifacts/:type',
    {
      schema: {
        tags: ['artifacts'],
        summary: 'Download an artifact (Range and If-None-Match supported; 302 to a presigned bucket URL with S3_DOWNLOADS=redirect)',
        params: runIdParams.extend({ type: artifactType }),
        response: { 200: z.any(), 206: z.any(), 302: z.null(), 304: z.null(), ...problems(404, 416) },
      },
    },
    async (request, reply) => {
      const { runId, type } = request.params;
      const file = await files.artifact(runId, type, request.owner);
      return sendStoredFile(request, reply, file, { disposition: 'attachment', what: `${type} artifact` });
    },
  );
};
