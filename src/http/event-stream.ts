import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const HEARTBEAT_MS = 15_000;

/** The open streams of each HTTP server, ended when it closes. */
const OPEN = new WeakMap<object, Set<AbortController>>();

/**
 * Open streams would hold app.close() (and so a graceful shutdown) forever: they end when the
 * server closes, and EventSource reconnects with Last-Event-ID to whichever server comes next.
 */
export function endStreamsOnClose(app: FastifyInstance) {
  const open = new Set<AbortController>();
  OPEN.set(app.server, open);
  app.addHook('preClose', async () => {
    for (const stream of open) stream.abort();
  });
}

/** The id an EventSource resumes from: its Last-Event-ID header, else `?lastEventId=`, else 0. */
export function resumeFrom(request: FastifyRequest, queryValue: number | undefined): number {
  const header = Number(request.headers['last-event-id']);
  return Number.isInteger(header) && header >= 0 ? header : (queryValue ?? 0);
}

/**
 * Streams batches of events as Server-Sent Events (`id:` + `data:` per event) with a heartbeat,
 * until the batches end or the client goes away (`closed` then aborts, which ends the batches).
 */
export async function sendEventStream<E extends { id: number }>(
  request: FastifyRequest,
  reply: FastifyReply,
  closed: AbortController,
  batches: AsyncIterable<E[]>,
  data: (event: E) => Record<string, unknown>,
): Promise<void> {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.write('retry: 2000\n\n');
  request.raw.on('close', () => closed.abort());
  const open = OPEN.get(request.server.server);
  open?.add(closed);
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
  try {
    for await (const batch of batches) raw.write(batch.map((event) => `id: ${event.id}\ndata: ${JSON.stringify(data(event))}\n\n`).join(''));
  } finally {
    open?.delete(closed);
    clearInterval(heartbeat);
    raw.end();
  }
}
