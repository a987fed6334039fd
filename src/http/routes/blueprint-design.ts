import { join } from 'node:path';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { addDefectsBody, addPromptBody, addRegionBody, blueprintIdParams, blueprintPartParams, blueprintView, updateDefectBody } from '../../contract/blueprints.ts';
import { problems } from '../../contract/problem.ts';
import type { HttpDeps } from '../deps.ts';
import { receiveImages } from '../multipart-images.ts';
import { sendStoredFile } from '../send-stored-file.ts';

const tags = ['blueprints'];
const created = (ids: string) => z.object({ [ids]: z.array(z.string()), blueprint: blueprintView });

/** What a blueprint is made of: photos (multipart), defects, regions, prompt edits. */
export const blueprintDesignRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { blueprints, blueprintDesign: design, blueprintRegions: regions, config }) => {
  app.post(
    '/api/blueprints/:blueprintId/objects',
    {
      schema: {
        tags,
        summary: 'Upload product photos (multipart/form-data, one or more files)',
        consumes: ['multipart/form-data'],
        params: blueprintIdParams,
        response: { 201: created('objectIds'), ...problems(400, 404, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const { blueprintId } = request.params;
      const allowance = await design.uploadAllowance(request.owner, blueprintId);
      const { images, cleanup } = await receiveImages(request, join(config.dataDir, 'tmp'), allowance);
      try {
        const objectIds = await design.addPhotos(request.owner, blueprintId, images);
        return reply.status(201).send({ objectIds, blueprint: await blueprints.get(request.owner, blueprintId) });
      } finally {
        await cleanup();
      }
    },
  );

  app.get(
    '/api/blueprints/:blueprintId/objects/:partId/image',
    { schema: { tags, summary: 'A product photo, as uploaded', params: blueprintPartParams, response: { 200: z.any(), 206: z.any(), 304: z.null(), ...problems(404, 416) } } },
    async (request, reply) => {
      const file = await design.photoFile(request.owner, request.params.blueprintId, request.params.partId);
      return sendStoredFile(request, reply, file, { disposition: 'inline', what: 'photo' });
    },
  );

  app.delete(
    '/api/blueprints/:blueprintId/objects/:partId',
    { schema: { tags, summary: 'Remove a photo with its regions and generations', params: blueprintPartParams, response: { 204: z.null(), ...problems(404) } } },
    async (request, reply) => {
      await design.removePhoto(request.owner, request.params.blueprintId, request.params.partId);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/blueprints/:blueprintId/defects',
    { schema: { tags, summary: 'Add defect classes, or a template’s', params: blueprintIdParams, body: addDefectsBody, response: { 201: created('defectIds'), ...problems(400, 404, 409, 422) } } },
    async (request, reply) => {
      const { blueprintId } = request.params;
      const { defects, template } = request.body;
      const defectIds = template ? await design.applyTemplate(request.owner, blueprintId, template) : await design.addDefects(request.owner, blueprintId, defects ?? []);
      return reply.status(201).send({ defectIds, blueprint: await blueprints.get(request.owner, blueprintId) });
    },
  );

  app.patch(
    '/api/blueprints/:blueprintId/defects/:partId',
    { schema: { tags, summary: 'Rename a defect or change its description', params: blueprintPartParams, body: updateDefectBody, response: { 200: blueprintView, ...problems(400, 404, 409) } } },
    async (request) => {
      await design.updateDefect(request.owner, request.params.blueprintId, request.params.partId, request.body);
      return blueprints.get(request.owner, request.params.blueprintId);
    },
  );

  app.delete(
    '/api/blueprints/:blueprintId/defects/:partId',
    { schema: { tags, summary: 'Remove a defect with its prompts, regions and generations', params: blueprintPartParams, response: { 204: z.null(), ...problems(404) } } },
    async (request, reply) => {
      await design.removeDefect(request.owner, request.params.blueprintId, request.params.partId);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/blueprints/:blueprintId/regions',
    {
      // A drawn mask comes as base64 in the JSON body: room for a photo-sized one.
      bodyLimit: 8 * 1024 * 1024,
      schema: {
        tags,
        summary: 'Add a region for a photo × defect: a box, a mask PNG (base64), or placed automatically inside the product',
        params: blueprintIdParams,
        body: addRegionBody,
        response: { 201: created('regionIds'), ...problems(400, 404, 422) },
      },
    },
    async (request, reply) => {
      const regionId = await regions.addRegion(request.owner, request.params.blueprintId, request.body);
      return reply.status(201).send({ regionIds: [regionId], blueprint: await blueprints.get(request.owner, request.params.blueprintId) });
    },
  );

  app.get(
    '/api/blueprints/:blueprintId/regions/:partId/mask',
    { schema: { tags, summary: "A region's mask (PNG, 255 = region)", params: blueprintPartParams, response: { 200: z.any(), 206: z.any(), 304: z.null(), ...problems(404, 416) } } },
    async (request, reply) => {
      const file = await regions.regionMask(request.owner, request.params.blueprintId, request.params.partId);
      return sendStoredFile(request, reply, file, { disposition: 'inline', what: 'mask' });
    },
  );

  app.delete(
    '/api/blueprints/:blueprintId/regions/:partId',
    { schema: { tags, summary: 'Remove a region', params: blueprintPartParams, response: { 204: z.null(), ...problems(404) } } },
    async (request, reply) => {
      await regions.removeRegion(request.owner, request.params.blueprintId, request.params.partId);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/blueprints/:blueprintId/prompts',
    {
      schema: {
        tags,
        summary: 'Edit a prompt: adds a child (strategy manual_edit) of parentId; prompts never change in place',
        params: blueprintIdParams,
        body: addPromptBody,
        response: { 201: created('promptIds'), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      const promptId = await design.editPrompt(request.owner, request.params.blueprintId, request.body.parentId, request.body.text);
      return reply.status(201).send({ promptIds: [promptId], blueprint: await blueprints.get(request.owner, request.params.blueprintId) });
    },
  );
};
