import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { enginesResponse } from '../../contract/engines.ts';
import { healthResponse } from '../../contract/system.ts';
import { RECON_VERSION } from '../../domain/version.ts';
import type { HttpDeps } from '../deps.ts';

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
    async () => ({ status: 'ok' as const, version: RECON_VERSION, uptimeSeconds: (Date.now() - started) / 1000, database: storeKind }),
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
