import type { TestServer } from './recon.ts';

/** Polls GET /api/runs/:id until the run reaches one of `statuses`. */
export async function waitForStatus(server: TestServer, runId: string, statuses: string[], timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await server.json(`/api/runs/${runId}`);
    if (statuses.includes(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${body.status} (${body.stage}) after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
