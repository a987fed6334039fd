/** One kind of problem: a stable `code` clients can branch on, its HTTP status and title. */
export interface ProblemType {
  readonly code: string;
  readonly status: number;
  readonly title: string;
}

/**
 * An RFC 9457 problem: what went wrong for the client, with a real HTTP status and a stable
 * `code`. Services throw these (made by the factories in `problems.ts`); the HTTP layer renders
 * them as application/problem+json.
 */
export class Problem extends Error {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly extra: Record<string, unknown>;

  constructor(type: ProblemType, detail: string, extra: Record<string, unknown> = {}) {
    super(detail);
    this.name = 'Problem';
    this.code = type.code;
    this.status = type.status;
    this.title = type.title;
    this.detail = detail;
    this.extra = extra;
  }

  /** The same problem, its detail prefixed with where it happened (a batch's run, say). */
  within(prefix: string, extra: Record<string, unknown> = {}): Problem {
    return new Problem(this, `${prefix}: ${this.detail}`, { ...this.extra, ...extra });
  }
}
