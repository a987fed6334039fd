import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { conflict, notFound, Problem } from '../../core/problem.ts';
import type { HttpDeps } from '../deps.ts';
import { problems } from '../schemas.ts';

const keyView = z.object({
  id: z.string(),
  name: z.string(),
  admin: z.boolean(),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
  source: z.enum(['database', 'environment']),
});

const createKeyBody = z
  .object({
    name: z.string().max(100).optional().describe('A label for people; the id is used when omitted'),
    admin: z.boolean().optional().describe('Admin keys see and manage every run, batch, session, webhook and key'),
  })
  .strict();

/** API keys: admins create and revoke them; an ordinary key sees (and may revoke) only itself. */
export const keysRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { keys }) => {
  app.post(
    '/api/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'Create an API key (admin); the key is in this answer only',
        body: createKeyBody.default({}),
        response: { 201: keyView.extend({ key: z.string() }), ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      if (!request.isAdmin) throw new Problem(403, 'Forbidden', 'Only an admin key can create keys');
      const created = await keys.create(request.body);
      return reply.status(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.get(
    '/api/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'List keys (an ordinary key sees only itself)',
        querystring: z.object({ revoked: z.enum(['true', 'false']).default('false').describe('Include revoked keys') }),
        response: { 200: z.object({ keys: z.array(keyView) }), ...problems(401) },
      },
    },
    async (request) => {
      const includeRevoked = request.query.revoked === 'true';
      if (request.isAdmin) return { keys: await keys.list({ includeRevoked }) };
      return { keys: await keys.list({ includeRevoked, onlyId: request.apiKey?.keyId ?? '' }) };
    },
  );

  app.delete(
    '/api/keys/:keyId',
    {
      schema: {
        tags: ['keys'],
        summary: 'Revoke a key (admins: any; an ordinary key: itself)',
        params: z.object({ keyId: z.string().max(100) }),
        response: { 204: z.null(), ...problems(401, 404, 409) },
      },
    },
    async (request, reply) => {
      const { keyId } = request.params;
      if (!request.isAdmin && request.apiKey?.keyId !== keyId) throw notFound('API key', keyId);
      if (keyId.startsWith('env-')) throw conflict(`Key ${keyId} comes from RECON_API_KEYS; remove it there and restart`);
      if (!(await keys.revoke(keyId))) throw notFound('API key', keyId);
      return reply.status(204).send(null);
    },
  );
};
