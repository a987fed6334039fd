import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { workersResponse } from '../../contract/workers.ts';
import type { HttpDeps } from '../deps.ts';

/** The live workers: what each takes and holds, when it last beat. */
export const workersRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { workers }) => {
  app.get(
    '/api/workers',
    {
      schema: {
        tags: ['system'],
        summary: 'Live workers: name, engines, runs in progress, last heartbeat, version',
        response: { 200: workersResponse },
      },
    },
    async (request) => workers.list(request.owner),
  );
};
