import { ApiError, ValidationError } from '@fal-ai/client';

/** fal's request error types that a later attempt may not hit (docs: "Request Error Types"). */
const TRANSIENT_TYPES = new Set([
  'request_timeout',
  'startup_timeout',
  'runner_scheduling_failure',
  'runner_connection_timeout',
  'runner_disconnected',
  'runner_connection_refused',
  'runner_connection_error',
  'runner_incomplete_response',
  'runner_server_error',
  'internal_error',
]);

export interface FieldError {
  /** Where, e.g. "body.mask_url". */
  field: string;
  message: string;
  type: string;
}

/** A fal failure, classified: transient ones are retried, the others fail the generation at once. */
export class FalError extends Error {
  readonly transient: boolean;
  readonly status: number | undefined;
  readonly errorType: string | undefined;
  readonly fieldErrors: FieldError[];
  readonly retryAfterMs: number | undefined;
  readonly hint: string | undefined;

  constructor(
    message: string,
    options: { transient: boolean; status?: number; errorType?: string; fieldErrors?: FieldError[]; retryAfterMs?: number; hint?: string },
  ) {
    super(message);
    this.name = 'FalError';
    this.transient = options.transient;
    this.status = options.status;
    this.errorType = options.errorType;
    this.fieldErrors = options.fieldErrors ?? [];
    this.retryAfterMs = options.retryAfterMs;
    this.hint = options.hint;
  }
}

/** A request that fal ran and reported failed with one of its error types. */
export function requestError(message: string, errorType: string, status?: number): FalError {
  return new FalError(message, { transient: TRANSIENT_TYPES.has(errorType), errorType, ...(status && { status }) });
}

/** Turns whatever the client (or fetch) threw into a FalError. */
export function toFalError(error: unknown, doing: string): FalError {
  if (error instanceof FalError) return error;
  if (error instanceof ValidationError) {
    const fieldErrors = error.fieldErrors.map((e) => ({ field: e.loc.join('.'), message: e.msg, type: e.type }));
    const listed = fieldErrors.map((e) => `${e.field}: ${e.message}`).join('; ');
    return new FalError(`fal refused the input while ${doing} (422): ${listed || error.message}`, {
      transient: false,
      status: 422,
      fieldErrors,
      hint: 'Fix the listed fields (prompt, region, model settings) and generate again',
    });
  }
  if (error instanceof ApiError) {
    const body = (error.body ?? {}) as { detail?: unknown; error_type?: string };
    const errorType = typeof body.error_type === 'string' ? body.error_type : undefined;
    const detail = typeof body.detail === 'string' ? body.detail : error.message;
    const status = error.status;
    const transient = status === 429 || (errorType ? TRANSIENT_TYPES.has(errorType) : status >= 500);
    const hint =
      status === 401 || status === 403
        ? 'Check FAL_KEY: fal did not accept it'
        : status === 404
          ? 'Check the endpoint id (FAL_*_ENDPOINT) and FAL_QUEUE_URL'
          : undefined;
    return new FalError(`fal answered ${status}${errorType ? ` (${errorType})` : ''} while ${doing}: ${detail}`, {
      transient,
      status,
      ...(errorType && { errorType }),
      ...(hint && { hint }),
    });
  }
  const message = (error as Error)?.message ?? String(error);
  // Connection refused, reset, DNS, timeouts: the network, not the request.
  return new FalError(`could not reach fal while ${doing}: ${message}`, { transient: true });
}

/** The failure a webhook with status ERROR reports: field errors (422) or a typed request error. */
export function webhookError(requestId: string, error: string | null, payload: unknown): FalError {
  const body = (payload ?? {}) as { detail?: unknown; error_type?: unknown };
  if (Array.isArray(body.detail)) {
    const fieldErrors = (body.detail as { loc?: unknown[]; msg?: string; type?: string }[]).map((d) => ({
      field: (d.loc ?? []).join('.'),
      message: String(d.msg ?? ''),
      type: String(d.type ?? ''),
    }));
    return new FalError(`fal refused the input of request ${requestId} (422): ${fieldErrors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, {
      transient: false,
      status: 422,
      fieldErrors,
      hint: 'Fix the listed fields (prompt, region, model settings) and generate again',
    });
  }
  const detail = typeof body.detail === 'string' ? body.detail : (error ?? 'unknown error');
  if (typeof body.error_type === 'string') return requestError(`fal request ${requestId} failed (${body.error_type}): ${detail}`, body.error_type);
  return new FalError(`fal request ${requestId} failed: ${detail}`, { transient: false });
}
