import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problems } from '../../contract/problem.ts';
import type { HttpDeps } from '../deps.ts';

/**
 * Where fal posts results (`fal_webhook`). No API key — fal cannot send one — but an ED25519
 * signature over the raw body, checked before anything is read; so the body stays bytes here.
 */
export const falWebhookRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { falWebhooks }) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 4 * 1024 * 1024 }, (_request, body, done) => done(null, body));
  app.post(
    '/api/fal/webhook',
    {
      schema: {
        tags: ['blueprints'],
        summary: "fal's webhook (signed by fal; verified against its JWKS)",
        querystring: z.object({
          job: z.string().max(64).optional(),
          attempt: z.coerce.number().int().min(0).optional(),
          token: z.string().max(64).optional(),
        }),
        response: { 200: z.object({ received: z.boolean(), outcome: z.string() }), ...problems(401, 503) },
      },
    },
    async (request) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const outcome = await falWebhooks.receive(request.headers, body, request.query);
      return { received: true, outcome };
    },
  );
};
