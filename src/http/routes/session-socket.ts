import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import { Problem } from '../../domain/problem.ts';
import { internalError, sessionMessageInvalid, sessionMessageTooLarge } from '../../domain/problems.ts';
import { type ClientMessage, parseClientMessage, type ServerMessage } from '../../contract/session-messages.ts';
import { resourceId } from '../../contract/resource-id.ts';
import type { HttpDeps } from '../deps.ts';

const byteLength = (data: RawData) =>
  Array.isArray(data) ? data.reduce((sum, b) => sum + b.length, 0) : data instanceof ArrayBuffer ? data.byteLength : data.length;
const asText = (data: RawData) =>
  Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');

/**
 * WebSocket `/ws/reconstruct/:id`: the session protocol. Messages are handled one at a time in
 * arrival order (so acks come back in order); a bad message gets an `error` and the socket stays
 * usable. Results of runs are broadcast to every socket connected to the session, so a client
 * that reconnects picks up where it left off.
 */
export const sessionSocketRoutes: FastifyPluginAsyncZod<HttpDeps> = async (app, { sessions }) => {
  app.get(
    '/ws/reconstruct/:id',
    { websocket: true, schema: { hide: true, params: z.object({ id: resourceId('Session id') }) } },
    (socket: WebSocket, request) => {
      const { id } = request.params as { id: string };
      const owner = request.owner;
      const log = request.log.child({ sessionId: id });
      const send = (message: ServerMessage) => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
      };
      const sendError = (error: unknown) => {
        if (error instanceof Problem) return send({ type: 'error', message: error.detail, status: error.status, code: error.code });
        log.error({ err: error }, 'session message failed');
        const problem = internalError();
        send({ type: 'error', message: `${problem.detail} (${(error as Error)?.message ?? String(error)})`, status: problem.status, code: problem.code });
      };
      let unsubscribe: (() => void) | undefined;
      socket.on('close', () => unsubscribe?.());

      const ready = (async () => {
        try {
          const session = await sessions.get(id, owner);
          unsubscribe = sessions.subscribe(id, { send, close: (code, reason) => socket.close(code, reason) });
          if (socket.readyState !== socket.OPEN) {
            unsubscribe();
            return false;
          }
          await sessions.touch(id);
          send({
            type: 'connected',
            session_id: id,
            image_count: session.image_count,
            max_images: session.max_images,
            status: session.status,
            engine: session.engine,
          });
          return true;
        } catch (error) {
          sendError(error);
          socket.close(1008, 'Session not found');
          return false;
        }
      })();

      const handle = async (message: ClientMessage) => {
        await sessions.touch(id);
        switch (message.type) {
          case 'ping':
            return send({ type: 'pong', session_id: id });
          case 'image': {
            const stored = await sessions.addImage(id, owner, message);
            return send({ type: 'ack', session_id: id, ...stored });
          }
          case 'generate': {
            const runId = await sessions.generate(id, owner, message.incremental);
            return send({ type: 'progress', stage: 'loading_model', progress: 0.01, message: `Run ${runId} queued`, run_id: runId });
          }
          case 'finalize':
            return sessions.finalize(id, owner);
        }
      };

      let queue: Promise<unknown> = ready;
      socket.on('message', (data: RawData, isBinary: boolean) => {
        queue = queue.then(async () => {
          if (!(await ready)) return;
          const size = byteLength(data);
          if (size > sessions.limits.maxMessageBytes) {
            return sendError(sessionMessageTooLarge(size, sessions.limits.maxMessageBytes));
          }
          if (isBinary) return sendError(sessionMessageInvalid('Binary frames are not part of the protocol: send JSON text messages'));
          const parsed = parseClientMessage(asText(data));
          if (!parsed.ok) return sendError(sessionMessageInvalid(parsed.error));
          await handle(parsed.message).catch(sendError);
        });
      });
    },
  );
};
