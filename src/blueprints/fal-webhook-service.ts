import type { Logger } from 'pino';
import { falWebhookKeysUnavailable, falWebhookRejected } from '../domain/problems.ts';
import { parseJsonExact } from '../engines/fal/lenient-json.ts';
import { type FalWebhookVerifier, WebhookRejected } from '../engines/fal/webhook-verifier.ts';
import type { FalJobRunner, WebhookOutcome } from './fal-job-runner.ts';

export interface FalWebhookQuery {
  job?: string | undefined;
  attempt?: number | undefined;
  token?: string | undefined;
}

/**
 * fal's webhooks: the signature is checked over the raw bytes (before any parsing), the body is
 * read keeping big integers exact, and the result is handed to the job it belongs to. Repeats,
 * late arrivals and unknown requests are acknowledged and change nothing.
 */
export class FalWebhookService {
  readonly #verifier: Pick<FalWebhookVerifier, 'verify'>;
  readonly #runner: Pick<FalJobRunner, 'recordWebhook'>;
  readonly #log: Logger;

  constructor(deps: { verifier: Pick<FalWebhookVerifier, 'verify'>; runner: Pick<FalJobRunner, 'recordWebhook'>; log: Logger }) {
    this.#verifier = deps.verifier;
    this.#runner = deps.runner;
    this.#log = deps.log;
  }

  async receive(headers: Record<string, string | string[] | undefined>, rawBody: Buffer, query: FalWebhookQuery): Promise<WebhookOutcome | 'without-payload'> {
    let requestId: string;
    try {
      ({ requestId } = await this.#verifier.verify(headers, rawBody));
    } catch (error) {
      if (error instanceof WebhookRejected) {
        this.#log.warn({ reason: error.message }, 'fal webhook refused');
        throw falWebhookRejected(error.message);
      }
      throw falWebhookKeysUnavailable((error as Error).message);
    }
    let body: { request_id?: unknown; status?: unknown; payload?: unknown; error?: unknown; payload_error?: unknown };
    try {
      body = parseJsonExact(rawBody.toString('utf8')) as typeof body;
    } catch {
      throw falWebhookRejected('the body is not JSON');
    }
    if (body?.request_id !== requestId) throw falWebhookRejected('the body names another request than the signed headers');
    const status = body.status === 'OK' ? 'OK' : 'ERROR';
    const error = typeof body.error === 'string' ? body.error : typeof body.payload_error === 'string' ? body.payload_error : null;
    // A result fal could not serialise comes without payload: the job fetches it by polling instead.
    if (status === 'OK' && (body.payload === null || body.payload === undefined)) return 'without-payload';
    const outcome = await this.#runner.recordWebhook(requestId, { status, payload: body.payload ?? null, error }, { jobId: query.job, attempt: query.attempt, token: query.token });
    this.#log.info({ requestId, status, outcome }, 'fal webhook');
    return outcome;
  }
}
