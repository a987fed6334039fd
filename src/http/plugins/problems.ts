import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { Problem } from '../../domain/problem.ts';
import { internalError, invalidRequest, notMultipart, requestRejected, routeNotFound } from '../../domain/problems.ts';

export function sendProblem(reply: FastifyReply, problem: Problem) {
  return reply
    .status(problem.status)
    .type('application/problem+json')
    .send({ ...problem.extra, type: 'about:blank', title: problem.title, status: problem.status, detail: problem.detail, code: problem.code });
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
