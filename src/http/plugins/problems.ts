import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { Problem } from '../../core/problem.ts';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
};

export function sendProblem(reply: FastifyReply, problem: Problem) {
  return reply
    .status(problem.status)
    .type('application/problem+json')
    .send({ ...problem.extra, type: 'about:blank', title: problem.title, status: problem.status, detail: problem.detail });
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
      const summary = errors.map((e) => `${e.path}: ${e.message}`).join('; ');
      return sendProblem(reply, new Problem(400, 'Bad Request', `Invalid request — ${summary}`, { errors }));
    }
    if (error.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') {
      return sendProblem(reply, new Problem(415, TITLES[415]!, 'Send images as multipart/form-data (one or more file fields)'));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendProblem(reply, new Problem(status, TITLES[status] ?? 'Bad Request', error.message));
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(
      reply,
      new Problem(500, 'Internal Server Error', 'The server hit an unexpected error; it has been logged. Try again, and report it if it persists.'),
    );
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new Problem(404, 'Not Found', `No route for ${request.method} ${request.url.split('?')[0]}`)),
  );
}
