import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { adminKeyRequired, keyFromEnvironment, keyNotFound } from '../../domain/problems.ts';
import { resourceId } from '../../contract/resource-id.ts';
import type { HttpDeps } from '../deps.ts';
import { problems } from '../../contract/problem.ts';
import { createKeyBody, keyView } from '../../contract/keys.ts';

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
      if (!request.isAdmin) throw adminKeyRequired('Creating keys');
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
        params: z.object({ keyId: resourceId('API key id') }),
        response: { 204: z.null(), ...problems(401, 404, 409) },
      },
    },
    async (request, reply) => {
      const { keyId } = request.params;
      if (!request.isAdmin && request.apiKey?.keyId !== keyId) throw keyNotFound(keyId);
      if (keyId.startsWith('env-')) throw keyFromEnvironment(keyId);
      if (!(await keys.revoke(keyId))) throw keyNotFound(keyId);
      return reply.status(204).send(null);
    },
  );
};
