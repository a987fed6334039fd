import { existsSync, statSync } from 'node:fs';
import { join, normalize, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { routeNotFound, webFileNotFound } from '../../domain/problems.ts';

/** Where `npm run build:web` writes the web app. */
export const WEB_DIST = resolve(import.meta.dirname, '..', '..', '..', 'web', 'dist');

/** Paths that belong to the API (and its docs): unknown ones stay problem+json, never the app. */
const API_PATH = /^\/(api|ws|metrics|openapi\.json)(\/|$)/;

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="5">
<title>Recon — web app not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2933}
code{background:#eef2f6;padding:.1rem .35rem;border-radius:4px}</style></head>
<body><h1>The web app has not been built</h1>
<p>This server answers the API at <code>/api</code> (see <a href="/openapi.json">/openapi.json</a>), but the
browser app in <code>web/dist</code> is missing.</p>
<p><code>recon serve</code> builds it when it is missing, and this page reloads itself every few seconds
until it is there. If it never comes (the server's log says why), build it with
<code>npm run build:web</code>; no restart is needed.</p></body></html>`;

/**
 * The web app: files from `web/dist`, and index.html for every other non-API GET so client-side
 * routes survive a reload. Registered last, so every API route wins over the catch-all.
 */
export const webRoutes: FastifyPluginAsync<{ distDir?: string }> = async (app, options) => {
  const root = options.distDir ?? WEB_DIST;
  await app.register(fastifyStatic, { root, serve: false });

  const sendIndex = (reply: FastifyReply) => {
    if (!existsSync(join(root, 'index.html'))) return reply.status(503).header('retry-after', '5').type('text/html; charset=utf-8').send(NOT_BUILT);
    return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
  };

  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    const path = decodeURIComponent(request.url.split('?')[0] ?? '/');
    if (API_PATH.test(path)) throw routeNotFound(request.method, path);
    const relative = normalize(path).replace(/^(\.\.[/\\])+/, '').replace(/^[/\\]+/, '');
    if (relative && !relative.split(/[/\\]/).some((part) => part.startsWith('.'))) {
      const file = join(root, relative);
      const isFile = file.startsWith(root) && existsSync(file) && statSync(file).isFile();
      if (isFile) {
        // Vite puts content hashes in asset names, so those never change.
        const immutable = relative.startsWith('assets/');
        return reply
          .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
          .sendFile(relative, { cacheControl: false });
      }
      // A missing file with an extension is a broken link, not a page of the app.
      if (/\.[a-z0-9]+$/i.test(relative)) throw webFileNotFound(path);
    }
    return sendIndex(reply);
  });
};
