import type { FastifyInstance } from 'fastify';
import { nulCharacter } from '../../domain/problems.ts';

const NUL_IN_URL = /%00/i;
/** Bodies are at most 1 MiB; this bounds the walk for pathologically nested ones too. */
const MAX_DEPTH = 64;

function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((item) => holdsNul(item, depth + 1));
  return Object.entries(value).some(([key, item]) => key.includes('\u0000') || holdsNul(item, depth + 1));
}

/**
 * PostgreSQL text and jsonb cannot hold the NUL character, so an id, name or setting with one would
 * fail deep in a query as a 500. It is refused up front instead, in the URL and in JSON bodies.
 */
export function nulGuardPlugin(app: FastifyInstance) {
  // Callback hooks, not async ones: they run on every request, and a promise each is measurable there.
  app.addHook('onRequest', (request, _reply, done) => {
    done(NUL_IN_URL.test(request.url) ? nulCharacter('The URL') : undefined);
  });
  app.addHook('preValidation', (request, _reply, done) => {
    done(request.body !== undefined && holdsNul(request.body) ? nulCharacter('The request body') : undefined);
  });
}
