/**
 * An RFC 9457 problem: what went wrong for the client, with a real HTTP status. Services throw
 * these; the HTTP layer renders them as application/problem+json.
 */
export class Problem extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly extra: Record<string, unknown>;

  constructor(status: number, title: string, detail: string, extra: Record<string, unknown> = {}) {
    super(detail);
    this.name = 'Problem';
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.extra = extra;
  }
}

export const notFound = (what: string, id: string) =>
  new Problem(404, 'Not Found', `${what} "${id}" does not exist`);

export const conflict = (detail: string, extra: Record<string, unknown> = {}) =>
  new Problem(409, 'Conflict', detail, extra);

export const badRequest = (detail: string, extra: Record<string, unknown> = {}) =>
  new Problem(400, 'Bad Request', detail, extra);

export const unprocessable = (detail: string, extra: Record<string, unknown> = {}) =>
  new Problem(422, 'Unprocessable Content', detail, extra);

export const tooLarge = (detail: string, extra: Record<string, unknown> = {}) =>
  new Problem(413, 'Content Too Large', detail, extra);
