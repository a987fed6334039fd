import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import Fastify from 'fastify';
import { drainOnClosePlugin } from '../../src/http/plugins/drain-on-close.ts';

/** Far below Fastify's 72 s keep-alive, which is what a close used to wait out. */
const PROMPT_MS = 10_000;

async function appWithRoutes(graceMs: number) {
  const app = Fastify();
  drainOnClosePlugin(app, graceMs);
  app.get('/streamed', (_request, reply) => {
    const body = new Readable({ read() {} });
    setTimeout(() => body.push('first '), 10);
    setTimeout(() => body.push('second'), 150);
    setTimeout(() => body.push(null), 200);
    return reply.type('text/plain').send(body);
  });
  app.get('/never', (_request, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/plain' });
    reply.raw.write('started, never ends');
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

describe('closing the HTTP server', () => {
  test('a response still streaming when close begins finishes, and close does not wait out its keep-alive', async () => {
    const { app, url } = await appWithRoutes(30_000);
    const response = await fetch(`${url}/streamed`);
    const started = Date.now();
    const closed = app.close();
    assert.equal(await response.text(), 'first second', 'the response in flight is delivered whole');
    await closed;
    assert.ok(Date.now() - started < PROMPT_MS, `closed after ${Date.now() - started} ms`);
  });

  test('a request that never finishes is cut after the grace period', async () => {
    const { app, url } = await appWithRoutes(300);
    const socketClosed = new Promise<string>((resolve) => {
      request(`${url}/never`, (response) => {
        response.on('data', () => {});
        response.on('error', () => {});
        response.socket.on('close', () => resolve('closed'));
      }).end();
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await app.close();
    assert.equal(await socketClosed, 'closed');
    assert.ok(Date.now() - started >= 250, 'it had its grace period');
    assert.ok(Date.now() - started < PROMPT_MS, `closed after ${Date.now() - started} ms`);
  });
});
