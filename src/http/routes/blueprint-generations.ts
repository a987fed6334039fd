import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  blueprintIdParams,
  blueprintPartParams,
  cancelBody,
  evolveBody,
  evolutionView,
  generateBody,
  generationFileParams,
  generationView,
  rateBody,
  regenerateBody,
  suggestBody,
  suggestionView,
} from '../../contract/blueprints.ts';
import { problems } from '../../contract/problem.ts';
import type { HttpDeps } from '../deps.ts';
import { sendStoredFile } from '../send-stored-file.ts';

const tags = ['blueprints'];

/** Work sent to fal (the matrix, regenerations, suggestions, prompt evolution) and the ratings of what came back. */
export const blueprintGenerationRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { blueprints, generations }) => {
  const asGenerations = async (owner: string | null, blueprintId: string, ids: string[]) => {
    const view = await blueprints.get(owner, blueprintId);
    return view.generations.filter((g) => ids.includes(g.id));
  };

  app.post(
    '/api/blueprints/:blueprintId/generate',
    {
      schema: {
        tags,
        summary: 'Generate the photos × defects matrix (or the cells given): one fal job per region and count',
        params: blueprintIdParams,
        body: generateBody,
        response: { 202: z.object({ generations: z.array(generationView) }), ...problems(400, 404, 422, 503) },
      },
    },
    async (request, reply) => {
      const jobs = await generations.generate(request.owner, request.params.blueprintId, request.body);
      return reply.status(202).send({ generations: await asGenerations(request.owner, request.params.blueprintId, jobs.map((j) => j.id)) });
    },
  );

  app.post(
    '/api/blueprints/:blueprintId/generations/:partId/regenerate',
    {
      schema: {
        tags,
        summary: 'Generate a cell again: a new seed (or the one given) and the defect’s newest prompt (or the one given)',
        params: blueprintPartParams,
        body: regenerateBody,
        response: { 202: generationView, ...problems(400, 404, 422, 503) },
      },
    },
    async (request, reply) => {
      const job = await generations.regenerate(request.owner, request.params.blueprintId, request.params.partId, request.body);
      const [view] = await asGenerations(request.owner, request.params.blueprintId, [job.id]);
      return reply.status(202).send(view!);
    },
  );

  app.put(
    '/api/blueprints/:blueprintId/generations/:partId/rating',
    {
      schema: {
        tags,
        summary: 'Rate a generated image: approved, rejected or needs_refinement, with feedback',
        params: blueprintPartParams,
        body: rateBody,
        response: { 200: generationView, ...problems(400, 404, 409) },
      },
    },
    async (request) => generations.rate(request.owner, request.params.blueprintId, request.params.partId, request.body.rating, request.body.feedback),
  );

  app.get(
    '/api/blueprints/:blueprintId/generations/:partId/:file',
    {
      schema: {
        tags,
        summary: 'A generated image, or its label mask (PNG, 255 = defect)',
        params: generationFileParams,
        response: { 200: z.any(), 206: z.any(), 304: z.null(), ...problems(404, 409, 416) },
      },
    },
    async (request, reply) => {
      const { blueprintId, partId, file } = request.params;
      const stored = await generations.generationFile(request.owner, blueprintId, partId, file);
      return sendStoredFile(request, reply, stored, { disposition: 'inline', what: file });
    },
  );

  app.post(
    '/api/blueprints/:blueprintId/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel unfinished jobs (all, or those listed); fal is asked to cancel them too',
        params: blueprintIdParams,
        body: cancelBody,
        response: { 200: z.object({ canceled: z.array(z.string()) }), ...problems(400, 404) },
      },
    },
    async (request) => generations.cancel(request.owner, request.params.blueprintId, request.body.jobIds),
  );

  app.post(
    '/api/blueprints/:blueprintId/suggestions',
    {
      schema: {
        tags,
        summary: 'Ask a vision-language model which defects this product is prone to (FAL_VLM_ENDPOINT)',
        params: blueprintIdParams,
        body: suggestBody,
        response: { 202: suggestionView, ...problems(400, 404, 422, 503) },
      },
    },
    async (request, reply) => {
      const job = await generations.suggest(request.owner, request.params.blueprintId, request.body.objectId);
      const view = await blueprints.get(request.owner, request.params.blueprintId);
      return reply.status(202).send(view.suggestions.find((s) => s.id === job.id)!);
    },
  );

  app.post(
    '/api/blueprints/:blueprintId/prompts/:partId/evolve',
    {
      schema: {
        tags,
        summary: 'Evolve a prompt from its ratings and feedback (a reflective LLM mutation; FAL_LLM_ENDPOINT); children are `evolved`',
        params: blueprintPartParams,
        body: evolveBody,
        response: { 202: evolutionView, ...problems(400, 404, 503) },
      },
    },
    async (request, reply) => {
      const job = await generations.evolve(request.owner, request.params.blueprintId, request.params.partId, request.body.count);
      const view = await blueprints.get(request.owner, request.params.blueprintId);
      return reply.status(202).send(view.evolutions.find((e) => e.id === job.id)!);
    },
  );
};
