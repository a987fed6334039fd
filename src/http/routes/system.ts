import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { enginesResponse } from '../../contract/engines.ts';
import { healthResponse } from '../../contract/system.ts';
import type { HttpDeps } from '../deps.ts';

const VERSION = '0.1.0';

/** Health and engine discovery. */
export const systemRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { engines, storeKind }) => {
  const started = Date.now();

  app.get(
    '/api/health',
    {
      schema: {
        tags: ['system'],
        summary: 'Liveness and what this server runs on',
        response: { 200: healthResponse },
      },
    },
    async () => ({ status: 'ok' as const, version: VERSION, uptimeSeconds: (Date.now() - started) / 1000, database: storeKind }),
  );

  app.get(
    '/api/engines',
    {
      schema: {
        tags: ['system'],
        summary: 'Engines, whether each is usable now (and why not), settings schemas and limits',
        response: { 200: enginesResponse },
      },
    },
    async () => engines.describe(),
  );
};
