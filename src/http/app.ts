import multipart from '@fastify/multipart';
import websocket from '@fastify/websocket';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { HttpDeps } from './deps.ts';
import { endStreamsOnClose } from './event-stream.ts';
import { authPlugin } from './plugins/auth.ts';
import { badUrlEncoding, routeNotFound } from '../domain/problems.ts';
import { drainOnClosePlugin } from './plugins/drain-on-close.ts';
import { nulGuardPlugin } from './plugins/nul-guard.ts';
import { clientErrorHandler, problemsPlugin, sendProblem } from './plugins/problems.ts';
import { rateLimitsPlugin } from './plugins/rate-limits.ts';
import { analyticsRoutes } from './routes/analytics.ts';
import { batchRoutes } from './routes/batches.ts';
import { keysRoutes } from './routes/keys.ts';
import { limitsRoutes } from './routes/limits.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { runArtifactsRoutes } from './routes/run-artifacts.ts';
import { runImagesRoutes } from './routes/run-images.ts';
import { runPredictionsRoutes } from './routes/run-predictions.ts';
import { runStreamRoutes } from './routes/run-stream.ts';
import { runThumbnailsRoutes } from './routes/run-thumbnails.ts';
import { runsRoutes } from './routes/runs.ts';
import { sessionSocketRoutes } from './routes/session-socket.ts';
import { sessionsRoutes } from './routes/sessions.ts';
import { systemRoutes } from './routes/system.ts';
import { webRoutes } from './routes/web.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { workersRoutes } from './routes/workers.ts';
import { blueprintDesignRoutes } from './routes/blueprint-design.ts';
import { blueprintExportRoutes } from './routes/blueprint-exports.ts';
import { blueprintGenerationRoutes } from './routes/blueprint-generations.ts';
import { blueprintRoutes } from './routes/blueprints.ts';
import { falWebhookRoutes } from './routes/fal-webhook.ts';

function isPercentEncoded(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/** The Fastify app: one plugin per resource, zod schemas on every route, OpenAPI from them. */
export async function buildApp(deps: HttpDeps, log: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    clientErrorHandler,
    // Ids up to this long reach their route and get its 404 (see contract/resource-id.ts).
    routerOptions: { maxParamLength: 1000 },
    // The router refuses a path that is not valid percent-encoding, or has a longer segment.
    frameworkErrors: (_error, request, reply) => {
      const path = request.url.split('?')[0] ?? '/';
      return sendProblem(reply, isPercentEncoded(path) ? routeNotFound(request.method, path) : badUrlEncoding(path));
    },
    // Zod validates requests. Responses are typed at compile time from the same schemas;
    // re-validating every response at run time would cost more than the handlers themselves on
    // hot routes. Given here, Fastify never loads Ajv and fast-json-stringify (60 ms of every start).
    // (Fastify types these factories after Ajv's; at run time any compiler does.)
    schemaController: { compilersFactory: { buildValidator: () => validatorCompiler, buildSerializer: () => () => (data: unknown) => JSON.stringify(data) } } as unknown as FastifyServerOptions['schemaController'],
  }).withTypeProvider<ZodTypeProvider>();
  app.decorateRequest('owner', null);
  problemsPlugin(app);
  endStreamsOnClose(app);
  drainOnClosePlugin(app);
  nulGuardPlugin(app);
  // Before any route, so every request (refused ones included) is timed.
  deps.metrics.instrumentHttp(app);
  // Auth first, then rate limits (keyed by the key auth found), both before any route.
  authPlugin(app, deps);
  await rateLimitsPlugin(app, deps.config);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Recon API', version: '0.1.0', description: 'Photos in, 3D scenes out.' },
    },
    transform: jsonSchemaTransform,
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(systemRoutes, deps);
  await app.register(keysRoutes, deps);
  await app.register(limitsRoutes, deps);
  await app.register(runsRoutes, deps);
  // Multipart parsing only where uploads are: its hooks then cost other routes nothing.
  await app.register(async (uploads) => {
    await uploads.register(multipart, { limits: { files: deps.config.limits.maxImages + 1 } });
    await uploads.register(runImagesRoutes, deps);
    await uploads.register(batchRoutes, deps);
    await uploads.register(blueprintDesignRoutes, deps);
  });
  await app.register(runArtifactsRoutes, deps);
  await app.register(runThumbnailsRoutes, deps);
  await app.register(runStreamRoutes, deps);
  await app.register(runPredictionsRoutes, deps);
  // Sessions in a scope of their own, so the WebSocket plugin's per-request hooks stay there.
  // Frames over twice the message limit are refused by ws itself (close 1009); smaller oversize
  // messages get a friendly `error` and the socket stays open.
  await app.register(async (sockets) => {
    await sockets.register(websocket, { options: { maxPayload: deps.config.sessions.maxMessageBytes * 2 } });
    await sockets.register(sessionsRoutes, deps);
    await sockets.register(sessionSocketRoutes, deps);
  });
  await app.register(webhookRoutes, deps);
  await app.register(metricsRoutes, deps);
  await app.register(analyticsRoutes, deps);
  await app.register(workersRoutes, deps);
  await app.register(blueprintRoutes, deps);
  await app.register(blueprintGenerationRoutes, deps);
  await app.register(blueprintExportRoutes, deps);
  // Its own scope: the body stays raw bytes there, for the signature check.
  await app.register(falWebhookRoutes, deps);
  // Last: its catch-all GET serves the web app for every path no API route claims.
  await app.register(webRoutes);
  return app;
}
