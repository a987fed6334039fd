import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WEBHOOK_EVENTS } from '../../domain/webhook-events.ts';
import type { HttpDeps } from '../deps.ts';
import { problems } from '../../contract/problem.ts';
import { deliveryView, endpointView, idParams, withSecret } from '../../contract/webhooks.ts';

/** Webhook endpoints (per key), their secrets, and the delivery log. */
export const webhookRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { webhooks }) => {
  app.post(
    '/api/webhooks',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Register a webhook endpoint',
        body: z
          .object({
            url: z.string().url(),
            events: z.array(z.enum(WEBHOOK_EVENTS)).optional().describe('Events to receive; all when omitted'),
            description: z.string().max(500).optional(),
          })
          .strict(),
        response: { 201: withSecret, ...problems(400) },
      },
    },
    async (request, reply) => {
      const endpoint = await webhooks.register(request.owner, request.body);
      return reply.status(201).header('location', `/api/webhooks/${endpoint.id}`).send(endpoint);
    },
  );

  app.get(
    '/api/webhooks',
    { schema: { tags: ['webhooks'], summary: 'List webhook endpoints', response: { 200: z.object({ webhooks: z.array(endpointView) }) } } },
    async (request) => ({ webhooks: await webhooks.list(request.owner) }),
  );

  app.get(
    '/api/webhooks/secret',
    {
      schema: {
        tags: ['webhooks'],
        summary: "The secret that signs deliveries to runs' own webhookUrl",
        response: { 200: z.object({ secret: z.string() }) },
      },
    },
    async (request) => ({ secret: await webhooks.defaultSecret(request.owner) }),
  );

  app.get(
    '/api/webhooks/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Webhook deliveries, newest first, with every attempt',
        querystring: z.object({
          status: z.enum(['pending', 'succeeded', 'failed']).optional(),
          endpointId: z.string().optional(),
          runId: z.string().optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
          offset: z.coerce.number().int().min(0).default(0),
        }),
        response: { 200: z.object({ deliveries: z.array(deliveryView) }) },
      },
    },
    async (request) => ({ deliveries: await webhooks.deliveries(request.owner, request.query) }),
  );

  app.get(
    '/api/webhooks/:id',
    { schema: { tags: ['webhooks'], summary: 'Get a webhook endpoint', params: idParams, response: { 200: endpointView, ...problems(404) } } },
    async (request) => webhooks.get(request.owner, request.params.id),
  );

  app.delete(
    '/api/webhooks/:id',
    { schema: { tags: ['webhooks'], summary: 'Remove a webhook endpoint', params: idParams, response: { 204: z.null(), ...problems(404) } } },
    async (request, reply) => {
      await webhooks.remove(request.owner, request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/webhooks/:id/rotate-secret',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Replace the signing secret (the old one keeps signing alongside for 24 h)',
        params: idParams,
        response: { 200: withSecret, ...problems(404) },
      },
    },
    async (request) => webhooks.rotateSecret(request.owner, request.params.id),
  );

  app.post(
    '/api/webhooks/:id/enable',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Enable an endpoint again (after a 410 Gone disabled it)',
        params: idParams,
        response: { 200: endpointView, ...problems(404) },
      },
    },
    async (request) => webhooks.enable(request.owner, request.params.id),
  );
};
