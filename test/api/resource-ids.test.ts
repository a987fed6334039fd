import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { STORE_MODES, startTestServer, type TestServer } from '../helpers/recon.ts';

const ODD_IDS = ['nope', 'run_1', '..%2F..%2Fetc%2Fpasswd', 'x'.repeat(500), '%F0%9F%98%80', "'%20OR%201%3D1"];

for (const mode of STORE_MODES.slice(0, 1)) {
  describe(`an id that names nothing answers 404, whatever its shape (${mode})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(mode);
    });
    after(() => server?.close());

    const routes: [method: string, path: (id: string) => string, code: string][] = [
      ['GET', (id) => `/api/runs/${id}`, 'RUN_NOT_FOUND'],
      ['POST', (id) => `/api/runs/${id}/process`, 'RUN_NOT_FOUND'],
      ['GET', (id) => `/api/runs/${id}/artifacts/glb`, 'RUN_NOT_FOUND'],
      ['GET', (id) => `/ws/session/${id}`, 'SESSION_NOT_FOUND'],
      ['GET', (id) => `/api/batch/runs/${id}/status`, 'BATCH_NOT_FOUND'],
      ['GET', (id) => `/api/webhooks/${id}`, 'WEBHOOK_NOT_FOUND'],
      ['DELETE', (id) => `/api/keys/${id}`, 'KEY_NOT_FOUND'],
      ['GET', (id) => `/api/blueprints/${id}`, 'BLUEPRINT_NOT_FOUND'],
      ['GET', (id) => `/api/blueprints/${id}/stream`, 'BLUEPRINT_NOT_FOUND'],
      ['GET', (id) => `/api/blueprints/${id}/objects/ob_x/image`, 'BLUEPRINT_NOT_FOUND'],
      ['POST', (id) => `/api/blueprints/${id}/exports`, 'BLUEPRINT_NOT_FOUND'],
    ];
    for (const [method, path, code] of routes) {
      test(`${method} ${path(':id')} → 404 ${code}`, async () => {
        for (const id of ODD_IDS) {
          const init = method === 'POST' ? { method, headers: { 'content-type': 'application/json' }, body: '{}' } : { method };
          const { status, body, headers } = await server.json(path(id), init);
          assert.equal(status, 404, `${id}: ${JSON.stringify(body)}`);
          assert.equal(body.code, code, id);
          assert.match(headers.get('content-type') ?? '', /application\/problem\+json/);
        }
      });
    }

    test('a part id that names nothing in an existing blueprint → 404 BLUEPRINT_PART_NOT_FOUND', async () => {
      const created = await server.json('/api/blueprints', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ids' }) });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      for (const id of ODD_IDS) {
        for (const path of [`objects/${id}/image`, `generations/${id}/image`, `exports/${id}/download`]) {
          const { status, body } = await server.json(`/api/blueprints/${created.body.id}/${path}`);
          assert.equal(status, 404, `${path}: ${JSON.stringify(body)}`);
          assert.equal(body.code, 'BLUEPRINT_PART_NOT_FOUND', path);
        }
      }
    });

    test('a NUL character is the one thing refused with 400, before any lookup', async () => {
      const { status, body } = await server.json('/api/runs/run%00x');
      assert.equal(status, 400);
      assert.equal(body.code, 'NUL_CHARACTER');
    });
  });
}
