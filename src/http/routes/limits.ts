import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from '../deps.ts';
import { limitsResponse } from '../../contract/limits.ts';

/** Every limit this server enforces, with the status its error carries. */
export const limitsRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { limits }) => {
  app.get(
    '/api/limits',
    {
      schema: {
        tags: ['system'],
        summary: 'The limits this server enforces, and the status each produces',
        response: { 200: limitsResponse },
      },
    },
    async () => limits.describe(),
  );
};
