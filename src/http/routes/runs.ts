import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type RunView, runView } from '../../contract/runs.ts';
import { createRunBody, listRunsQuery, processResult, rerunBody, runIdParams, runList } from '../../contract/runs.ts';
import { problems } from '../../contract/problem.ts';
import type { HttpDeps } from '../deps.ts';

/**
 * Polling clients ask for the same run again and again; while the service hands back the same
 * (cached, immutable) view, its JSON is made once.
 */
const serializedViews = new WeakMap<RunView, string>();
function serialized(run: RunView): string {
  let json = serializedViews.get(run);
  if (json === undefined) {
    json = JSON.stringify(run);
    serializedViews.set(run, json);
  }
  return json;
}

/** The runs resource: create, read, list, process, cancel, rerun, delete. */
export const runsRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { runs, webhooks }) => {
  app.post(
    '/api/runs',
    {
      schema: {
        tags: ['runs'],
        summary: 'Create a run',
        body: createRunBody.default({}),
        response: { 201: runView, ...problems(400, 404, 422) },
      },
    },
    async (request, reply) => {
      if (request.body.webhookUrl) webhooks.assertAcceptableUrl(request.body.webhookUrl, 'webhookUrl');
      const run = await runs.create({ ...request.body, owner: request.owner });
      return reply.status(201).header('location', `/api/runs/${run.runId}`).send(run);
    },
  );

  app.get(
    '/api/runs',
    { schema: { tags: ['runs'], summary: 'List runs, newest first', querystring: listRunsQuery, response: { 200: runList } } },
    async (request) => {
      const { status, engine, limit, offset } = request.query;
      return runs.list({ ...(status && { status }), ...(engine && { engine }), limit, offset, owner: request.owner });
    },
  );

  app.get(
    '/api/runs/:runId',
    { schema: { tags: ['runs'], summary: 'Get a run', params: runIdParams, response: { 200: runView, ...problems(404) } } },
    async (request, reply) => {
      const run = await runs.get(request.params.runId, request.owner);
      return reply.serializer(serialized).send(run);
    },
  );

  app.post(
    '/api/runs/:runId/process',
    {
      schema: {
        tags: ['runs'],
        summary: 'Queue the run for its engine',
        params: runIdParams,
        response: { 202: processResult, ...problems(404, 409, 422) },
      },
    },
    async (request, reply) => {
      const run = await runs.process(request.params.runId, request.owner);
      return reply.status(202).send({ runId: run.runId, status: 'processing' as const, queuePosition: run.queuePosition });
    },
  );

  app.post(
    '/api/runs/:runId/cancel',
    { schema: { tags: ['runs'], summary: 'Cancel a run', params: runIdParams, response: { 200: runView, ...problems(404, 409) } } },
    async (request) => runs.cancel(request.params.runId, request.owner),
  );

  app.post(
    '/api/runs/:runId/rerun',
    {
      schema: {
        tags: ['runs'],
        summary: 'Run the same images again with changed settings (a pipeline run: from any stage on)',
        params: runIdParams,
        body: rerunBody,
        response: { 202: runView, ...problems(400, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const run = await runs.rerun(request.params.runId, request.body ?? {}, request.owner);
      return reply.status(202).header('location', `/api/runs/${run.runId}`).send(run);
    },
  );

  app.delete(
    '/api/runs/:runId',
    { schema: { tags: ['runs'], summary: 'Delete a run and its files', params: runIdParams, response: { 204: z.null(), ...problems(404) } } },
    async (request, reply) => {
      await runs.delete(request.params.runId, request.owner);
      return reply.status(204).send(null);
    },
  );
};
