import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { productPhoto, rectangleMask } from '../fixtures/products.ts';
import { jsonBody, startTestServer } from '../helpers/recon.ts';
import { startReceiver } from '../webhooks/receiver.ts';
import { type BlueprintTestServer, blueprintWithPhotos, startBlueprintServer, waitUntilSettled } from './blueprint-server.ts';

const ADMIN = 'admin-key-0123456789-0123456789-0123456789';
const bearer = (key: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${key}` } });

describe('blueprint rules', () => {
  let t: BlueprintTestServer;
  let alice: string;
  let bob: string;
  before(async () => {
    t = await startBlueprintServer('pglite', {
      RECON_API_KEYS: ADMIN,
      RECON_RATE_LIMIT_MAX: '0',
      BLUEPRINT_MAX_OBJECTS: '3',
      BLUEPRINT_MAX_GENERATIONS: '6',
      RECON_WEBHOOK_ALLOW_PRIVATE: '1',
      RECON_WEBHOOK_RETRY_SCHEDULE: '0,0.2',
    });
    alice = (await t.server.json('/api/keys', bearer(ADMIN, jsonBody({ name: 'alice' })))).body.key;
    bob = (await t.server.json('/api/keys', bearer(ADMIN, jsonBody({ name: 'bob' })))).body.key;
  });
  after(() => t.close());

  const as = (key: string) => ({
    json: (path: string, init: RequestInit = {}) => t.server.json(path, bearer(key, init)),
    fetch: (path: string, init: RequestInit = {}) => t.server.fetch(path, bearer(key, init)),
  });

  test("another key's blueprint is a 404 everywhere; lists are per key", async () => {
    const created = await as(alice).json('/api/blueprints', jsonBody({ name: 'mine' }));
    assert.equal(created.status, 201);
    const id = created.body.id;
    const routes: [string, string][] = [
      ['GET', `/api/blueprints/${id}`],
      ['PATCH', `/api/blueprints/${id}`],
      ['DELETE', `/api/blueprints/${id}`],
      ['POST', `/api/blueprints/${id}/generate`],
      ['POST', `/api/blueprints/${id}/exports`],
      ['GET', `/api/blueprints/${id}/stream`],
    ];
    for (const [method, path] of routes) {
      const withBody = method !== 'GET' && method !== 'DELETE';
      const response = await as(bob).json(path, withBody ? { method, headers: { 'content-type': 'application/json' }, body: '{}' } : { method });
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.equal(response.body.code, 'BLUEPRINT_NOT_FOUND');
    }
    assert.equal((await as(bob).json('/api/blueprints')).body.total, 0);
    assert.equal((await as(alice).json('/api/blueprints')).body.total, 1);
    assert.equal((await t.server.json('/api/blueprints')).status, 401);
  });

  test('limits and bad input answer problem+json with a code that says what to fix', async () => {
    const me = as(alice);
    const id = (await me.json('/api/blueprints', jsonBody({ name: 'limits', template: 'wood' }))).body.id;
    const form = new FormData();
    for (const i of [0, 1, 2, 3]) form.append('images', new Blob([await productPhoto('disc', 48)], { type: 'image/png' }), `p${i}.png`);
    const tooMany = await me.json(`/api/blueprints/${id}/objects`, { method: 'POST', body: form });
    assert.equal(tooMany.status, 422);
    assert.equal(tooMany.body.code, 'TOO_MANY_IMAGES');
    assert.match(tooMany.body.detail, /per blueprint/);
    const notImage = new FormData();
    notImage.append('images', new Blob([Buffer.from('not pixels at all, really')], { type: 'image/png' }), 'fake.png');
    assert.equal((await me.json(`/api/blueprints/${id}/objects`, { method: 'POST', body: notImage })).body.code, 'NOT_AN_IMAGE');
    const two = new FormData();
    for (const i of [0, 1]) two.append('images', new Blob([await productPhoto('panel', 48)], { type: 'image/png' }), `q${i}.png`);
    const view = (await me.json(`/api/blueprints/${id}/objects`, { method: 'POST', body: two })).body.blueprint;
    const [photo] = view.objects;
    const [defect] = view.defects;

    const checks: [string, RequestInit, number, string][] = [
      ['/api/blueprints', jsonBody({ name: 'x', model: 'fal-ai/flux/dev' }), 400, 'UNKNOWN_IMAGE_MODEL'],
      ['/api/blueprints', jsonBody({ name: 'x', template: 'no-such-template' }), 404, 'TEMPLATE_NOT_FOUND'],
      [`/api/blueprints/${id}/defects`, jsonBody({ defects: [{ name: 'SPLIT' }] }), 409, 'DEFECT_NAME_TAKEN'],
      [`/api/blueprints/${id}/regions`, jsonBody({ objectId: photo.id, defectId: defect.id, box: [40, 40, 20, 20] }), 422, 'REGION_INVALID'],
      [`/api/blueprints/${id}/regions`, jsonBody({ objectId: photo.id, defectId: defect.id, mask: (await rectangleMask(32, 32, [1, 1, 4, 4])).toString('base64') }), 422, 'REGION_INVALID'],
      [`/api/blueprints/${id}/regions`, jsonBody({ objectId: photo.id, defectId: defect.id, box: [1, 1, 2, 2], auto: true }), 400, 'INVALID_REQUEST'],
      [`/api/blueprints/${id}/regions`, jsonBody({ objectId: 'ob_1700000000000_zzzzzzzz', defectId: defect.id, auto: true }), 404, 'BLUEPRINT_PART_NOT_FOUND'],
      [`/api/blueprints/${id}/generate`, jsonBody({ promptId: view.prompts[0].id, cells: [{ objectId: photo.id, defectId: view.defects[1].id }] }), 422, 'PROMPT_OF_OTHER_DEFECT'],
      [`/api/blueprints/${id}/generate`, jsonBody({ count: 2 }), 422, 'BLUEPRINT_LIMIT_REACHED'],
    ];
    for (const [path, init, status, code] of checks) {
      const response = await me.json(path, init);
      assert.equal(response.status, status, `${path}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.code, code, path);
      assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
    }
    // A mask of the photo's size is taken; its box is the mask's own.
    const mask = await me.json(`/api/blueprints/${id}/regions`, jsonBody({ objectId: photo.id, defectId: defect.id, mask: (await rectangleMask(48, 48, [10, 12, 6, 5])).toString('base64') }));
    assert.equal(mask.status, 201);
    assert.deepEqual(mask.body.blueprint.regions.map((r: any) => [r.kind, r.bbox]), [['mask', [10, 12, 6, 5]]], 'refused requests left no region behind');
    // Rating something unfinished is a conflict.
    const started = await me.json(`/api/blueprints/${id}/generate`, jsonBody({ cells: [{ objectId: photo.id, defectId: defect.id }] }));
    const rate = await me.json(`/api/blueprints/${id}/generations/${started.body.generations[0].id}/rating`, { ...jsonBody({ rating: 'approved' }), method: 'PUT' });
    assert.ok(rate.status === 409 || rate.status === 200, String(rate.status));
    if (rate.status === 409) assert.equal(rate.body.code, 'GENERATION_NOT_FINISHED');
  });

  test('suggestions and prompt evolution go through fal as durable jobs', async () => {
    const me = as(alice);
    const id = (await me.json('/api/blueprints', jsonBody({ name: 'assist' }))).body.id;
    const form = new FormData();
    form.append('images', new Blob([await productPhoto('disc', 64)], { type: 'image/png' }), 'part.png');
    await me.json(`/api/blueprints/${id}/objects`, { method: 'POST', body: form });
    const asked = await me.json(`/api/blueprints/${id}/suggestions`, jsonBody({}));
    assert.equal(asked.status, 202);
    let view = await waitUntilSettled({ ...t.server, json: me.json } as any, id);
    const suggestion = view.suggestions[0];
    assert.equal(suggestion.status, 'completed', suggestion.error);
    assert.equal(view.productType, suggestion.productType, 'an unnamed product type is taken from the answer');
    assert.deepEqual(suggestion.defects.map((d: any) => d.name), ['scratch', 'dent', 'stain']);
    const added = await me.json(`/api/blueprints/${id}/defects`, jsonBody({ defects: [{ ...suggestion.defects[0], source: 'suggested' }] }));
    const defect = added.body.blueprint.defects[0];
    assert.equal(defect.source, 'suggested');
    assert.equal(defect.rationale, suggestion.defects[0].rationale);

    await me.json(`/api/blueprints/${id}/generate`, jsonBody({}));
    view = await waitUntilSettled({ ...t.server, json: me.json } as any, id);
    const generation = view.generations[0];
    await me.json(`/api/blueprints/${id}/generations/${generation.id}/rating`, { ...jsonBody({ rating: 'needs_refinement', feedback: 'barely visible' }), method: 'PUT' });
    const evolve = await me.json(`/api/blueprints/${id}/prompts/${generation.promptId}/evolve`, jsonBody({ count: 2 }));
    assert.equal(evolve.status, 202);
    view = await waitUntilSettled({ ...t.server, json: me.json } as any, id);
    const evolution = view.evolutions[0];
    assert.equal(evolution.status, 'completed', evolution.error);
    const children = view.prompts.filter((p: any) => evolution.promptIds.includes(p.id));
    assert.equal(children.length, 2);
    for (const child of children) {
      assert.equal(child.parentId, generation.promptId);
      assert.equal(child.strategy, 'evolved');
      assert.match(child.text, /barely visible/, 'the feedback reached the language model');
    }
    // The LLM saw the rated feedback in its prompt.
    const request = [...t.fal.requests.values()].find((r) => r.endpoint === 'openrouter/router')!;
    assert.match(String(request.input.prompt), /needs_refinement: "barely visible"/);
  });

  test('blueprint.generation.completed and blueprint.completed arrive signed at the blueprint’s webhook', async () => {
    const receiver = await startReceiver();
    try {
      const me = as(alice);
      const id = (await me.json('/api/blueprints', jsonBody({ name: 'hooks', webhookUrl: receiver.url() }))).body.id;
      const form = new FormData();
      form.append('images', new Blob([await productPhoto('bottle', 64)], { type: 'image/png' }), 'b.png');
      await me.json(`/api/blueprints/${id}/objects`, { method: 'POST', body: form });
      await me.json(`/api/blueprints/${id}/defects`, jsonBody({ defects: [{ name: 'crack' }] }));
      await me.json(`/api/blueprints/${id}/generate`, jsonBody({}));
      const view = await waitUntilSettled({ ...t.server, json: me.json } as any, id);
      await me.json(`/api/blueprints/${id}/generations/${view.generations[0].id}/rating`, { ...jsonBody({ rating: 'approved' }), method: 'PUT' });
      await receiver.waitFor((r) => r.some((x) => JSON.parse(x.body).type === 'blueprint.completed'));
      const secret = (await me.json('/api/webhooks/secret')).body?.secret;
      const types = receiver.received.map((x) => JSON.parse(x.body).type);
      assert.deepEqual(types.sort(), ['blueprint.completed', 'blueprint.generation.completed']);
      const generation = JSON.parse(receiver.received.find((x) => JSON.parse(x.body).type === 'blueprint.generation.completed')!.body);
      assert.equal(generation.generation.id, view.generations[0].id);
      assert.equal(generation.generation.status, 'completed');
      if (secret) for (const x of receiver.received) new Webhook(secret).verify(x.body, x.headers as Record<string, string>);
      else assert.ok(receiver.received.every((x) => x.headers['webhook-signature']), 'signed');
    } finally {
      await receiver.close();
    }
  });

  test('a mask-free edit model: the label is what changed inside the product, exactly the painted patch', async () => {
    const me = as(alice);
    const id = (await me.json('/api/blueprints', jsonBody({ name: 'edits', model: 'fal-ai/flux-pro/kontext' }))).body.id;
    const form = new FormData();
    for (const shape of ['disc', 'panel'] as const) form.append('images', new Blob([await productPhoto(shape, 96)], { type: 'image/png' }), `${shape}.png`);
    await me.json(`/api/blueprints/${id}/objects`, { method: 'POST', body: form });
    await me.json(`/api/blueprints/${id}/defects`, jsonBody({ defects: [{ name: 'stain' }, { name: 'pit' }] }));
    await me.json(`/api/blueprints/${id}/generate`, jsonBody({}));
    const view = await waitUntilSettled({ ...t.server, json: me.json } as any, id);
    assert.equal(view.generations.length, 4);
    for (const g of view.generations) {
      assert.equal(g.status, 'completed', g.error);
      const request = t.fal.requests.get(g.requestId)!;
      assert.equal(request.endpoint, 'fal-ai/flux-pro/kontext');
      assert.equal(request.input.mask_url, undefined, 'no mask is sent to an edit model');
      const truth = t.fal.truth(g.requestId)!;
      assert.deepEqual(g.bbox, truth.bbox);
      assert.equal(g.area, truth.area);
    }
  });

  test('cancel stops unfinished jobs and asks fal to cancel them; the stream reports it and ends', async () => {
    const me = as(alice);
    t.fal.faults.processMs = 5000;
    try {
      const id = (await me.json('/api/blueprints', jsonBody({ name: 'cancel' }))).body.id;
      const form = new FormData();
      form.append('images', new Blob([await productPhoto('disc', 48)], { type: 'image/png' }), 'd.png');
      await me.json(`/api/blueprints/${id}/objects`, { method: 'POST', body: form });
      await me.json(`/api/blueprints/${id}/defects`, jsonBody({ defects: [{ name: 'a' }, { name: 'b' }] }));
      await me.json(`/api/blueprints/${id}/generate`, jsonBody({}));
      const stream = me.fetch(`/api/blueprints/${id}/stream`).then((r) => r.text());
      for (;;) {
        const generations = (await me.json(`/api/blueprints/${id}`)).body.generations;
        if (generations.every((g: any) => g.status === 'submitted')) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const cancels = t.fal.stats.calls.cancel;
      const canceled = await me.json(`/api/blueprints/${id}/cancel`, jsonBody({}));
      assert.equal(canceled.body.canceled.length, 2);
      const view = (await me.json(`/api/blueprints/${id}`)).body;
      assert.deepEqual(view.generations.map((g: any) => g.status), ['canceled', 'canceled']);
      assert.equal(view.status, 'ready_for_review');
      const events = (await stream).split('\n\n').filter((f) => f.startsWith('id: ')).map((f) => JSON.parse(f.split('data: ')[1]!));
      assert.ok(events.some((e) => e.type === 'job' && e.status === 'submitted'));
      assert.ok(events.some((e) => e.type === 'job' && e.status === 'canceled'));
      assert.deepEqual(events.filter((e) => e.type === 'status').map((e) => e.status).slice(-2), ['generating', 'ready_for_review']);
      while (t.fal.stats.calls.cancel < cancels + 2) await new Promise((r) => setTimeout(r, 20));
    } finally {
      t.fal.faults.processMs = 30;
    }
  });

  test('the OpenAPI description lists the blueprint routes', async () => {
    const spec = (await t.server.json('/openapi.json')).body;
    for (const path of ['/api/blueprints', '/api/blueprints/{blueprintId}/generate', '/api/blueprints/{blueprintId}/exports', '/api/fal/webhook', '/api/blueprint-templates']) {
      assert.ok(spec.paths[path], `${path} missing`);
    }
  });
});

test('without FAL_KEY, generation is off and says which setting turns it on', async () => {
  const server = await startTestServer('pglite');
  try {
    const capabilities = (await server.json('/api/blueprint-capabilities')).body;
    assert.deepEqual([capabilities.generation, capabilities.suggestions, capabilities.evolution], [false, false, false]);
    const view = await blueprintWithPhotos(server, ['disc'], { template: 'fabric' }, 48);
    const refused = await server.json(`/api/blueprints/${view.id}/generate`, jsonBody({}));
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'FAL_NOT_CONFIGURED');
    assert.match(refused.body.detail, /FAL_KEY/);
  } finally {
    await server.close();
  }
});
