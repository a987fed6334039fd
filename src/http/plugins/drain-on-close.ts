import type { FastifyInstance } from 'fastify';

/** Requests under way when the server closes get this long to finish before their sockets are cut. */
export const CLOSE_GRACE_MS = 5_000;
const IDLE_SWEEP_MS = 100;

/**
 * `server.close()` closes only the keep-alive sockets that are idle at that moment. A response
 * still streaming then (a file, an image) leaves its socket open after it finishes, and close()
 * waited out the 72 s keep-alive for it. While closing, sockets are closed as soon as they go
 * idle, and whatever is still busy after the grace period is cut.
 */
export function drainOnClosePlugin(app: FastifyInstance, graceMs = CLOSE_GRACE_MS) {
  const timers: NodeJS.Timeout[] = [];
  app.addHook('preClose', (done) => {
    const server = app.server;
    timers.push(setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS).unref());
    timers.push(setTimeout(() => server.closeAllConnections(), graceMs).unref());
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    for (const timer of timers) clearTimeout(timer);
    done();
  });
}
