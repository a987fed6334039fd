import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createSessionQuery, createSessionResult, sessionList, sessionView } from '../../contract/sessions.ts';
import { resourceId } from '../../contract/resource-id.ts';
import type { HttpDeps } from '../deps.ts';
import { problems } from '../../contract/problem.ts';

const sessionParams = z.object({ id: resourceId('Session id (a UUID)') });

/**
 * The session API of the Depth-Anything-3 WebSocket clients: create, read, list, delete, and the
 * server status probe. Its clients include a single HTML file opened from disk, so these routes
 * answer cross-origin requests (no cookies are involved: API keys travel in headers).
 */
export const sessionsRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { sessions, engines }) => {
  const started = Date.now();
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('access-control-allow-origin', '*');
    return payload;
  });
  app.options('/ws/*', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .status(204)
      .header('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS')
      .header('access-control-allow-headers', 'authorization, x-api-key, content-type')
      .header('access-control-max-age', '600')
      .send(),
  );

  app.post(
    '/ws/session/create',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Create an interactive session (then connect to /ws/reconstruct/:id)',
        querystring: createSessionQuery,
        response: { 200: createSessionResult, ...problems(400, 503) },
      },
    },
    async (request) => {
      const session = await sessions.create(request.query, request.owner);
      return {
        success: true as const,
        session_id: session.session_id,
        created_at: session.created_at,
        max_images: session.max_images,
        engine: session.engine,
        config: session.config,
        websocket_url: `/ws/reconstruct/${session.session_id}`,
      };
    },
  );

  app.get(
    '/ws/session/:id',
    { schema: { tags: ['sessions'], summary: 'Get a session', params: sessionParams, response: { 200: sessionView, ...problems(404) } } },
    async (request) => sessions.get(request.params.id, request.owner),
  );

  app.delete(
    '/ws/session/:id',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Delete a session and its images (its runs stay in /api/runs)',
        params: sessionParams,
        response: { 200: z.object({ success: z.literal(true), session_id: z.string() }), ...problems(404) },
      },
    },
    async (request) => {
      await sessions.delete(request.params.id, request.owner);
      return { success: true as const, session_id: request.params.id };
    },
  );

  app.get(
    '/ws/sessions',
    { schema: { tags: ['sessions'], summary: 'List sessions with statistics', response: { 200: sessionList } } },
    async (request) => sessions.list(request.owner),
  );

  app.get(
    '/status',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Server status probe (for session clients)',
        response: {
          200: z.object({
            status: z.literal('running'),
            model_loaded: z.boolean().describe('Whether the default engine is usable now'),
            default_engine: z.string().nullable(),
            engines: z.array(z.string()),
            uptime_seconds: z.number(),
            sessions: z.object({ total: z.number(), active: z.number(), processing: z.number(), max: z.number() }),
          }),
        },
      },
    },
    async () => {
      const { defaultId, usable, engineIds } = await engines.defaultStatus();
      return {
        status: 'running' as const,
        model_loaded: usable,
        default_engine: defaultId,
        engines: engineIds,
        uptime_seconds: (Date.now() - started) / 1000,
        sessions: await sessions.counts(),
      };
    },
  );
};
