import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { Problem } from '../../domain/problem.ts';
import {
  headersTooLarge,
  internalError,
  invalidRequest,
  malformedHttp,
  malformedMultipart,
  notMultipart,
  requestRejected,
  requestTimeout,
  routeNotFound,
} from '../../domain/problems.ts';

/** What the multipart parser (busboy) throws for a body it cannot frame; these carry no status. */
const MULTIPART_FRAMING = /^(Unexpected end of multipart data|Multipart: Boundary not found|Boundary required|Malformed part header)/;

const problemBody = (problem: Problem) => ({
  ...problem.extra,
  type: 'about:blank',
  title: problem.title,
  status: problem.status,
  detail: problem.detail,
  code: problem.code,
});

export function sendProblem(reply: FastifyReply, problem: Problem) {
  return reply.status(problem.status).type('application/problem+json').send(problemBody(problem));
}

/** Every error leaves as RFC 9457 problem+json with a real status code. */
export function problemsPlugin(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof Problem) return sendProblem(reply, error);
    if (hasZodFastifySchemaValidationErrors(error)) {
      const errors = error.validation.map((v) => ({
        path: `${error.validationContext ?? ''}${v.instancePath || ''}`.replace(/\//g, '.'),
        message: v.message ?? 'invalid',
      }));
      return sendProblem(reply, invalidRequest(errors));
    }
    if (!error.statusCode && MULTIPART_FRAMING.test(error.message)) return sendProblem(reply, malformedMultipart(error.message));
    if (error.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') {
      return sendProblem(reply, notMultipart());
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendProblem(reply, requestRejected(status, error.message, error.code));
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, internalError());
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, routeNotFound(request.method, request.url.split('?')[0] ?? '/')),
  );
}

/**
 * Requests Node's HTTP parser refuses (broken framing, oversized headers, timeouts) never reach a
 * route; they get problem+json all the same, written straight to the socket.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket) {
  if (error.code === 'ECONNRESET' || !socket.writable) return socket.destroy();
  const problem =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? headersTooLarge()
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? requestTimeout()
        : malformedHttp(error.code ?? error.message);
  const body = JSON.stringify(problemBody(problem));
  socket.end(
    `HTTP/1.1 ${problem.status} ${problem.title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
