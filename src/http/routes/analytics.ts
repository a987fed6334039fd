import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from '../deps.ts';
import { summary } from '../../contract/analytics.ts';

/** Usage analytics over the caller's runs (every run for an admin or a server without keys). */
export const analyticsRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { analytics }) => {
  app.get(
    '/api/analytics/summary',
    { schema: { tags: ['system'], summary: 'Run totals, averages and most common settings, per engine', response: { 200: summary } } },
    async (request) => analytics.summary(request.owner),
  );
};
