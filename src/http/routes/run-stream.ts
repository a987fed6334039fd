import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problems } from '../../contract/problem.ts';
import { runIdParams } from '../../contract/runs.ts';
import type { RunEvent } from '../../domain/run-event.ts';
import type { HttpDeps } from '../deps.ts';
import { resumeFrom, sendEventStream } from '../event-stream.ts';

/**
 * Server-Sent Events: the run's persisted events from `Last-Event-ID` on, then live ones, with no
 * gaps or repeats. A finished run with nothing left to send answers 204, which tells EventSource
 * to stop.
 */
export const runStreamRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { runs }) => {
  app.get(
    '/api/runs/:runId/stream',
    {
      schema: {
        tags: ['runs'],
        summary: 'Stream run events (SSE); resume with Last-Event-ID',
        params: runIdParams,
        querystring: z.object({ lastEventId: z.coerce.number().int().min(0).optional() }),
        response: { 200: z.any(), 204: z.null(), ...problems(404) },
      },
    },
    async (request, reply) => {
      const closed = new AbortController();
      const events = await runs.followEvents(request.params.runId, request.owner, resumeFrom(request, request.query.lastEventId), closed.signal);
      if (!events) return reply.status(204).send(null);
      await sendEventStream(request, reply, closed, events, (event: RunEvent) => ({ type: event.type, runId: event.runId, at: event.at, ...event.data }));
    },
  );
};
