import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isTerminal, type RunEvent } from '../../core/run-model.ts';
import type { HttpDeps } from '../deps.ts';
import { problems, runIdParams } from '../schemas.ts';

const HEARTBEAT_MS = 15_000;

const frame = (event: RunEvent) =>
  `id: ${event.id}\ndata: ${JSON.stringify({ type: event.type, runId: event.runId, at: event.at, ...event.data })}\n\n`;

/**
 * Server-Sent Events: the run's persisted events from `Last-Event-ID` on, then live ones. Every
 * event is read back from the database in id order, so a resumed stream has no gaps or repeats.
 * A finished run with nothing left to send answers 204, which tells EventSource to stop.
 */
export const runStreamRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { runs, runEvents, hub }) => {
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
      const { runId } = request.params;
      await runs.findOwned(runId, request.owner);
      const header = Number(request.headers['last-event-id']);
      let lastId = Number.isInteger(header) && header >= 0 ? header : (request.query.lastEventId ?? 0);

      let wake: (() => void) | undefined;
      let dirty = true;
      const unwatch = hub.watch(runId, () => {
        dirty = true;
        wake?.();
      });
      try {
        let backlog = await runEvents.after(runId, lastId);
        const run = await runs.findOwned(runId, request.owner);
        if (!backlog.length && isTerminal(run.status)) return reply.status(204).send(null);

        reply.hijack();
        const raw = reply.raw;
        raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        });
        raw.write('retry: 2000\n\n');
        let closed = false;
        request.raw.on('close', () => {
          closed = true;
          wake?.();
        });
        const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
        try {
          while (!closed) {
            dirty = false;
            let finished = false;
            for (const event of backlog) {
              raw.write(frame(event));
              lastId = event.id;
              if (event.type === 'status' && isTerminal(event.data.status as never)) finished = true;
            }
            if (finished) break;
            if (!dirty) await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            if (closed) break;
            backlog = await runEvents.after(runId, lastId);
          }
        } finally {
          clearInterval(heartbeat);
          raw.end();
        }
      } finally {
        unwatch();
      }
    },
  );
};
