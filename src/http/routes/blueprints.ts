import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  blueprintCapabilities,
  blueprintIdParams,
  blueprintList,
  blueprintStreamQuery,
  blueprintView,
  createBlueprintBody,
  listBlueprintsQuery,
  templateBody,
  templateView,
  updateBlueprintBody,
} from '../../contract/blueprints.ts';
import { problems } from '../../contract/problem.ts';
import type { BlueprintEvent } from '../../db/blueprint-events-repository.ts';
import type { HttpDeps } from '../deps.ts';
import { resumeFrom, sendEventStream } from '../event-stream.ts';

const tags = ['blueprints'];

/** Defect blueprints: create, read, change, delete, follow; templates and what this server can do. */
export const blueprintRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { blueprints, blueprintDesign }) => {
  app.get(
    '/api/blueprint-capabilities',
    { schema: { tags, summary: 'What blueprints can do here: generation, suggestions, evolution, webhooks, models', response: { 200: blueprintCapabilities } } },
    async () => blueprints.capabilities(),
  );

  app.get(
    '/api/blueprint-templates',
    { schema: { tags, summary: 'Defect templates: the built-in ones and yours (latest versions)', response: { 200: z.object({ templates: z.array(templateView) }) } } },
    async (request) => ({ templates: await blueprintDesign.templates(request.owner) }),
  );

  app.post(
    '/api/blueprint-templates',
    { schema: { tags, summary: 'Save a defect template (an existing id of yours makes a new version)', body: templateBody, response: { 201: templateView, ...problems(400, 404) } } },
    async (request, reply) => reply.status(201).send(await blueprintDesign.saveTemplate(request.owner, request.body)),
  );

  app.post(
    '/api/blueprints',
    { schema: { tags, summary: 'Create a blueprint', body: createBlueprintBody, response: { 201: blueprintView, ...problems(400, 404, 422) } } },
    async (request, reply) => {
      const { template } = request.body;
      const view = await blueprints.create(
        request.owner,
        request.body,
        template ? async (id, trx) => void (await blueprintDesign.applyTemplate(request.owner, id, template, trx)) : undefined,
      );
      return reply.status(201).header('location', `/api/blueprints/${view.id}`).send(view);
    },
  );

  app.get(
    '/api/blueprints',
    { schema: { tags, summary: 'List blueprints (newest first)', querystring: listBlueprintsQuery, response: { 200: blueprintList } } },
    async (request) => blueprints.list(request.owner, request.query),
  );

  app.get(
    '/api/blueprints/:blueprintId',
    { schema: { tags, summary: 'A blueprint with its photos, defects, regions, prompts, generations, suggestions', params: blueprintIdParams, response: { 200: blueprintView, ...problems(404) } } },
    async (request) => blueprints.get(request.owner, request.params.blueprintId),
  );

  app.patch(
    '/api/blueprints/:blueprintId',
    { schema: { tags, summary: "Rename, set the product type, model or webhook", params: blueprintIdParams, body: updateBlueprintBody, response: { 200: blueprintView, ...problems(400, 404) } } },
    async (request) => blueprints.update(request.owner, request.params.blueprintId, request.body),
  );

  app.delete(
    '/api/blueprints/:blueprintId',
    { schema: { tags, summary: 'Delete a blueprint, its files and its jobs (cancelled at fal)', params: blueprintIdParams, response: { 204: z.null(), ...problems(404) } } },
    async (request, reply) => {
      await blueprints.delete(request.owner, request.params.blueprintId);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/blueprints/:blueprintId/stream',
    {
      schema: {
        tags,
        summary: 'Stream the blueprint’s events (SSE): job status, fal queue position and logs, ratings; resume with Last-Event-ID',
        params: blueprintIdParams,
        querystring: blueprintStreamQuery,
        response: { 200: z.any(), 204: z.null(), ...problems(404) },
      },
    },
    async (request, reply) => {
      const closed = new AbortController();
      const events = await blueprints.followEvents(request.owner, request.params.blueprintId, resumeFrom(request, request.query.lastEventId), closed.signal);
      if (!events) return reply.status(204).send(null);
      await sendEventStream(request, reply, closed, events, (event: BlueprintEvent) => ({ type: event.type, blueprintId: event.blueprintId, at: event.at, ...event.data }));
    },
  );
};
