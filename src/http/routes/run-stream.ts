import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problems } from '../../contract/problem.ts';
import { runIdParams } from '../../contract/runs.ts';
import type { RunEvent } from '../../domain/run-event.ts';
import type { HttpDeps } from '../deps.ts';

const HEARTBEAT_MS = 15_000;

const frame = (event: RunEvent) =>
  `id: ${event.id}\ndata: ${JSON.stringify({ type: event.type, runId: event.runId, at: event.at, ...event.data })}\n\n`;

/**
 * Server-Sent Events: the run's persisted events from `Last-Event-ID` on, then live ones, with no
 * gaps or repeats. A finished run with nothing left to send answers 204, which tells EventSource
 * to stop.
 */
export const runStreamRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { runs }) => {
  // Open streams would hold app.close() (and so a graceful shutdown) forever; EventSource
  // reconnects with Last-Event-ID to whichever server comes next.
  const open = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const stream of open) stream.abort();
  });
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
      const header = Number(request.headers['last-event-id']);
      const afterId = Number.isInteger(header) && header >= 0 ? header : (request.query.lastEventId ?? 0);
      const closed = new AbortController();
      const events = await runs.followEvents(request.params.runId, request.owner, afterId, closed.signal);
      if (!events) return reply.status(204).send(null);

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write('retry: 2000\n\n');
      request.raw.on('close', () => closed.abort());
      open.add(closed);
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
      try {
        for await (const batch of events) raw.write(batch.map(frame).join(''));
      } finally {
        open.delete(closed);
        clearInterval(heartbeat);
        raw.end();
      }
    },
  );
};
