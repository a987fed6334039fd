import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isLoopbackHost } from '../../auth/loopback.ts';
import type { Config } from '../../config.ts';
import { rateLimited, runCreationRateLimited } from '../../domain/problems.ts';

/** Routes that start new work count against the stricter hourly run-creation limit, together. */
const RUN_CREATION_ROUTES = new Set(['/api/runs', '/api/runs/:runId/rerun', '/api/batch/runs']);
const UNLIMITED_PATHS = new Set(['/api/health']);

/**
 * Rate limits per API key, or per client IP without one: a global limit on every route and a
 * stricter one on run creation. Exceeding either answers 429 problem+json with `Retry-After` and
 * `RateLimit-Limit/-Remaining/-Reset`. Admin keys, and the local user of a loopback server without
 * keys, are not limited. Must be set up after the auth plugin and before the routes.
 */
export async function rateLimitsPlugin(app: FastifyInstance, config: Config) {
  const { max, windowMs, runsPerHour } = config.rateLimits;
  if (max === 0) return;
  const loopback = isLoopbackHost(config.host);
  const exempt = (request: FastifyRequest) =>
    UNLIMITED_PATHS.has(request.url.split('?')[0] ?? '') || request.apiKey?.admin === true || (loopback && request.isAdmin && !request.apiKey);

  // Runs before the rate-limit plugin's own onRoute hook, which reads `config.rateLimit`.
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    if (!methods.includes('POST') || !RUN_CREATION_ROUTES.has(route.url)) return;
    route.config = {
      ...route.config,
      rateLimit: {
        max: runsPerHour,
        timeWindow: 3600_000,
        groupId: 'run-creation',
        errorResponseBuilder: (_request, context) =>
          runCreationRateLimited(context.max, context.after),
      },
    };
  });

  await app.register(rateLimit, {
    global: true,
    max,
    timeWindow: windowMs,
    enableDraftSpec: true,
    keyGenerator: (request) => (request.apiKey ? `key:${request.apiKey.keyId}` : `ip:${request.ip}`),
    allowList: exempt,
    errorResponseBuilder: (_request, context) =>
      rateLimited(context.max, windowMs / 1000, context.after),
  });
}
