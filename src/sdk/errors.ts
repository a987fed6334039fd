import type { z } from 'zod';
import type { problemSchema } from '../contract/problem.ts';

/** RFC 9457 problem details, as the server sends them (plus any extra members). */
export type ProblemDetails = z.infer<typeof problemSchema>;

const STANDARD = new Set(['type', 'title', 'status', 'detail', 'code']);

/** An error answer from the server, with its problem+json details. */
export class ReconApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly type: string;
  /**
   * The server's stable code for this kind of problem (`RUN_NOT_FOUND`, `TOO_MANY_IMAGES`, …; the
   * README lists them), or `HTTP_<status>` when the answer was not problem+json (a proxy's page).
   * @example if (error instanceof ReconApiError && error.code === 'RUN_ALREADY_FINISHED') await recon.rerun(id);
   */
  readonly code: string;
  /** The whole problem document. */
  readonly problem: ProblemDetails;
  /** Members beyond type/title/status/detail/code (e.g. `errors`, `limit`, `runStatus`). */
  readonly extra: Record<string, unknown>;
  readonly method: string;
  readonly url: string;

  constructor(status: number, body: unknown, request: { method: string; url: string }) {
    const fields = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
    const title = typeof fields.title === 'string' ? fields.title : `HTTP ${status}`;
    const detail = typeof fields.detail === 'string' ? fields.detail : typeof body === 'string' && body ? body : title;
    super(detail);
    this.name = 'ReconApiError';
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.type = typeof fields.type === 'string' ? fields.type : 'about:blank';
    this.code = typeof fields.code === 'string' ? fields.code : `HTTP_${status}`;
    this.problem = { ...fields, type: this.type, title, status, detail, code: this.code };
    this.extra = Object.fromEntries(Object.entries(fields).filter(([key]) => !STANDARD.has(key)));
    this.method = request.method;
    this.url = request.url;
  }
}

/** The server could not be reached (refused, reset, DNS, TLS…). */
export class ReconConnectionError extends Error {
  readonly url: string;
  constructor(url: string, cause: unknown) {
    const reason = cause instanceof Error ? ((cause.cause as Error | undefined)?.message ?? cause.message) : String(cause);
    super(`Cannot reach the Recon server at ${url}: ${reason}`, { cause });
    this.name = 'ReconConnectionError';
    this.url = url;
  }
}

/** The event stream could not be used (a proxy that buffers or refuses SSE, repeated drops). */
export class StreamUnavailableError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`Event stream unavailable: ${reason}`, options);
    this.name = 'StreamUnavailableError';
  }
}
