import { type FakeFal, startFakeFal } from '../fixtures/fal-server/server.ts';
import { productPhoto, type ProductShape } from '../fixtures/products.ts';
import { freePort } from '../helpers/postgres.ts';
import { jsonBody, type StoreMode, startTestServer, type TestServer } from '../helpers/recon.ts';

/** The settings that point a Recon server at a fal stand-in (webhooks to its own port). */
export function falEnv(fal: FakeFal, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: String(port),
    FAL_KEY: fal.key,
    FAL_QUEUE_URL: fal.queueUrl,
    FAL_REST_URL: fal.restUrl,
    FAL_JWKS_URL: fal.jwksUrl,
    RECON_PUBLIC_URL: `http://127.0.0.1:${port}`,
    FAL_VLM_ENDPOINT: 'openrouter/router/vision',
    FAL_LLM_ENDPOINT: 'openrouter/router',
    FAL_POLL_MS: '100',
    FAL_POLL_MAX_MS: '400',
    FAL_ORPHAN_GRACE_SECONDS: '2',
    ...extra,
  };
}

export interface BlueprintTestServer {
  server: TestServer;
  fal: FakeFal;
  close(): Promise<void>;
}

/** A Recon test server talking to a fresh fal stand-in. */
export async function startBlueprintServer(mode: StoreMode, extra: Record<string, string> = {}): Promise<BlueprintTestServer> {
  const fal = await startFakeFal();
  const port = await freePort();
  const server = await startTestServer(mode, falEnv(fal, port, extra));
  return {
    server,
    fal,
    async close() {
      await server.close();
      await fal.close();
    },
  };
}

/** Creates a blueprint with photos of these shapes and returns its view. */
export async function blueprintWithPhotos(server: TestServer, shapes: ProductShape[], body: Record<string, unknown> = {}, size = 96) {
  const created = await server.json('/api/blueprints', jsonBody({ name: 'Test parts', ...body }));
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  const form = new FormData();
  for (const [i, shape] of shapes.entries()) {
    form.append('images', new Blob([await productPhoto(shape, size)], { type: 'image/png' }), `${i + 1}-${shape}.png`);
  }
  const uploaded = await server.json(`/api/blueprints/${created.body.id}/objects`, { method: 'POST', body: form });
  if (uploaded.status !== 201) throw new Error(`upload: ${uploaded.status} ${JSON.stringify(uploaded.body)}`);
  return uploaded.body.blueprint;
}

/** Polls the blueprint until it stops generating. */
export async function waitUntilSettled(server: TestServer, id: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await server.json(`/api/blueprints/${id}`);
    const busy = [...body.generations, ...body.suggestions, ...body.evolutions].some((j: any) => ['queued', 'submitting', 'submitted'].includes(j.status));
    if (!busy && body.status !== 'generating') return body;
    if (Date.now() > deadline) throw new Error(`blueprint ${id} still busy after ${timeoutMs} ms: ${JSON.stringify(body.generations.map((g: any) => g.status))}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
