import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from '../deps.ts';

/** Prometheus metrics in the text exposition format. */
export const metricsRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { metrics }) => {
  app.get('/metrics', { schema: { tags: ['system'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
    const body = await metrics.render();
    return reply.type(metrics.contentType()).send(body);
  });
};
