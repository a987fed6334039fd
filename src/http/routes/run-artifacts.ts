import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound, Problem } from '../../core/problem.ts';
import { artifactType } from '../../core/run-model.ts';
import { ARTIFACT_FILES, type ArtifactKind } from '../../engines/engine.ts';
import { parseRange } from '../byte-range.ts';
import type { HttpDeps } from '../deps.ts';
import { problems, runIdParams } from '../schemas.ts';

const CONTENT_TYPES: Record<ArtifactKind, string> = {
  glb: 'model/gltf-binary',
  predictions: 'application/octet-stream',
  colmap: 'application/zip',
  ply: 'application/octet-stream',
  preview: 'image/jpeg',
  'glb-compressed': 'model/gltf-binary',
  sog: 'application/octet-stream',
};

/** Artifact downloads with ETag, Range and a file name a browser keeps. */
export const runArtifactsRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { runs, blobs }) => {
  app.get(
    '/api/runs/:runId/artifacts/:type',
    {
      schema: {
        tags: ['artifacts'],
        summary: 'Download an artifact (Range and If-None-Match supported)',
        params: runIdParams.extend({ type: artifactType }),
        response: { 200: z.any(), 206: z.any(), 304: z.null(), ...problems(404, 416) },
      },
    },
    async (request, reply) => {
      const { runId } = request.params;
      const type = request.params.type as ArtifactKind;
      const run = await runs.findOwned(runId, request.owner);
      const reason = run.artifacts.unavailable[type];
      if (reason) throw new Problem(404, 'Not Found', `Run ${runId} has no ${type} artifact: ${reason}`);
      const info = run.artifacts.available[type] ? await blobs.stat(runId, ARTIFACT_FILES[type]) : undefined;
      if (!info) throw notFound(`Artifact ${type} of run`, runId);
      const fileName = `${runId}-${ARTIFACT_FILES[type]}`;
      reply
        .header('etag', info.etag)
        .header('last-modified', info.modifiedAt.toUTCString())
        .header('accept-ranges', 'bytes')
        .header('cache-control', 'private, max-age=0, must-revalidate')
        .header('content-disposition', `attachment; filename="${fileName}"`)
        .type(CONTENT_TYPES[type]);
      if (request.headers['if-none-match'] === info.etag) return reply.status(304).send(null);
      const ifRange = request.headers['if-range'];
      const range = ifRange && ifRange !== info.etag ? ({ kind: 'full' } as const) : parseRange(request.headers.range, info.bytes);
      if (range.kind === 'unsatisfiable') {
        reply.header('content-range', `bytes */${info.bytes}`);
        throw new Problem(416, 'Range Not Satisfiable', `The ${type} artifact has ${info.bytes} bytes; the requested range is outside it`);
      }
      if (range.kind === 'partial') {
        return reply
          .status(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${info.bytes}`)
          .header('content-length', range.end - range.start + 1)
          .send(blobs.read(runId, ARTIFACT_FILES[type], { start: range.start, end: range.end }));
      }
      return reply.header('content-length', info.bytes).send(blobs.read(runId, ARTIFACT_FILES[type]));
    },
  );
};
