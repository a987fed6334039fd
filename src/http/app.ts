import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { HttpDeps } from './deps.ts';
import { problemsPlugin } from './plugins/problems.ts';
import { runArtifactsRoutes } from './routes/run-artifacts.ts';
import { runImagesRoutes } from './routes/run-images.ts';
import { runPredictionsRoutes } from './routes/run-predictions.ts';
import { runStreamRoutes } from './routes/run-stream.ts';
import { runsRoutes } from './routes/runs.ts';
import { systemRoutes } from './routes/system.ts';

/** The Fastify app: one plugin per resource, zod schemas on every route, OpenAPI from them. */
export async function buildApp(deps: HttpDeps, log: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  // Responses are typed at compile time from the same schemas; re-validating every response at
  // run time would cost more than the handlers themselves on hot routes.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.decorateRequest('owner', null);
  problemsPlugin(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Recon API', version: '0.1.0', description: 'Photos in, 3D scenes out.' },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(multipart, { limits: { files: deps.config.limits.maxImages + 1 } });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode >= 500) request.log.warn({ url: request.url, status: reply.statusCode }, 'request failed');
  });

  await app.register(systemRoutes, deps);
  await app.register(runsRoutes, deps);
  await app.register(runImagesRoutes, deps);
  await app.register(runArtifactsRoutes, deps);
  await app.register(runStreamRoutes, deps);
  await app.register(runPredictionsRoutes, deps);
  return app;
}
