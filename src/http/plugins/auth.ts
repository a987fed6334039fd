import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken } from '../../auth/api-key.ts';
import type { ApiKeyService, Principal } from '../../auth/key-service.ts';
import { isLoopbackHost } from '../../auth/loopback.ts';
import type { Config } from '../../config.ts';
import type { Problem } from '../../domain/problem.ts';
import { adminKeyRequired, apiKeyInvalid, apiKeyRequired } from '../../domain/problems.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The key that made the request, once checked; null on an open server without a key. */
    apiKey: Principal | null;
    /** Admin keys, and the local user of an open server, see and manage everything. */
    isAdmin: boolean;
  }
}

/**
 * Paths that stay open whatever the mode: liveness and the API description carry no user data;
 * fal's webhook cannot send a key and is checked by its own signature instead.
 */
const PUBLIC_PATHS = new Set(['/api/health', '/openapi.json', '/api/fal/webhook']);
/** Paths that need an admin whenever keys are required. */
const ADMIN_PATHS = new Set(['/metrics']);

/**
 * EventSource and browser WebSockets cannot send headers, so their GETs may carry the key as
 * `?api_key=` (the name the seed's session clients use) or `?access_token=`.
 */
function queryToken(request: FastifyRequest, path: string): string | undefined {
  if (request.method !== 'GET' || !(path.startsWith('/ws/reconstruct/') || /^\/api\/(runs|blueprints)\/[^/]+\/stream$/.test(path))) return undefined;
  const params = new URLSearchParams(request.url.split('?')[1] ?? '');
  return params.get('api_key') ?? params.get('access_token') ?? undefined;
}

const isApiPath = (path: string) => path.startsWith('/api/') || path.startsWith('/ws/') || path === '/metrics' || path === '/status';

/**
 * Who may call the API:
 * - a valid `Authorization: Bearer <key>` is always accepted (a bad one is always refused); SSE
 *   and WebSocket GETs may send it as `?api_key=` instead;
 * - without a key, requests are the local admin only while the server is *open*: no key exists
 *   and it listens on loopback (or was started with --insecure-no-auth);
 * - otherwise every API route except /api/health and /openapi.json answers 401.
 * `request.owner` is the key id for ordinary keys and null for admins, so services scope
 * everything an ordinary key sees to its own resources.
 */
export function authPlugin(app: FastifyInstance, deps: { keys: ApiKeyService; config: Config }) {
  const openAllowed = isLoopbackHost(deps.config.host) || deps.config.auth.insecureNoAuth;
  app.decorateRequest('apiKey', null);
  app.decorateRequest('isAdmin', false);

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '';
    if (!isApiPath(path) || PUBLIC_PATHS.has(path)) return;
    const token = bearerToken(request.headers.authorization) ?? queryToken(request, path);
    if (token) {
      const principal = await deps.keys.authenticate(token);
      if (!principal) throw unauthorized(reply, apiKeyInvalid());
      request.apiKey = principal;
      request.isAdmin = principal.admin;
      request.owner = principal.admin ? null : principal.keyId;
    } else if (!openAllowed || (await deps.keys.anyActive())) {
      throw unauthorized(reply, apiKeyRequired());
    } else {
      request.isAdmin = true;
      request.owner = null;
    }
    if (ADMIN_PATHS.has(path) && !request.isAdmin) throw adminKeyRequired(path);
  });
}

function unauthorized(reply: FastifyReply, problem: Problem): Problem {
  reply.header('www-authenticate', 'Bearer realm="recon"');
  return problem;
}
