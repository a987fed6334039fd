import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';

const VERSION = '0.1.0';

export const engineView = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string(),
  available: z.boolean(),
  reason: z.string().optional(),
  default: z.boolean(),
  limits: z.object({ minImages: z.number(), maxImages: z.number() }),
  produces: z.array(z.string()),
  settingsSchema: z.record(z.string(), z.unknown()).describe('JSON Schema of the engine settings, with defaults'),
});

export const healthResponse = z.object({ status: z.literal('ok'), version: z.string(), uptimeSeconds: z.number(), database: z.string() });
export const enginesResponse = z.object({ engines: z.array(engineView), default: z.string().nullable() });

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
    async () => ({
      default: engines.defaultId ?? null,
      engines: await Promise.all(
        engines.list().map(async (engine) => {
          const check = await engine.check().catch((error: Error) => ({ ok: false, reason: error.message }));
          return {
            id: engine.id,
            title: engine.title,
            description: engine.description,
            available: check.ok,
            ...(check.reason && { reason: check.reason }),
            default: engine.id === engines.defaultId,
            limits: engine.limits,
            produces: engine.produces,
            settingsSchema: z.toJSONSchema(engine.settings, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
          };
        }),
      ),
    }),
  );
};
