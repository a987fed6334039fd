import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import { randomToken } from '../domain/ids.ts';
import type { WebhookDeliveryRow } from '../db/schema.ts';
import type { AttemptOutcome, WebhooksRepository } from '../db/webhooks-repository.ts';
import { RefusedTarget, type WebhookSender } from './sender.ts';

export type DeliveryResult = 'success' | 'retry' | 'failed' | 'refused' | 'gone';

export interface DeliveryLoopOptions {
  retryScheduleMs: number[];
  timeoutMs: number;
  /** Longest wait between looks at the table (deliveries made by other processes, due retries). */
  idlePollMs?: number;
  /** Deliveries attempted at once. */
  concurrency?: number;
  /** The embedded store is this process's alone: claims left by a previous process are stale. */
  releaseAllClaimsOnStart: boolean;
}

/** A Retry-After longer than this is capped: the delivery is retried then, not days later. */
const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;
const USER_AGENT = 'Recon-Webhooks/0.1';

/** Attempts sent at once: a crash can cut that many short after their receivers answered. */
export const DELIVERY_CONCURRENCY = 8;

/**
 * Sends due deliveries. State lives only in the table — `next_attempt_at`, attempts and a claim
 * token with a lease — so retries carry on after a restart, and several processes can share it.
 */
export class DeliveryLoop {
  readonly #repo: WebhooksRepository;
  readonly #sender: WebhookSender;
  readonly #log: Logger;
  readonly #options: Required<DeliveryLoopOptions>;
  readonly #token = randomToken(16);
  readonly #onResult: (result: DeliveryResult) => void;
  #stopped = false;
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #inFlight = new AbortController();

  constructor(deps: {
    repo: WebhooksRepository;
    sender: WebhookSender;
    log: Logger;
    options: DeliveryLoopOptions;
    defaultSecret: (owner: string) => Promise<string>;
    onResult?: (result: DeliveryResult) => void;
  }) {
    this.#repo = deps.repo;
    this.#sender = deps.sender;
    this.#log = deps.log;
    // Nothing due: deliveries made here kick() the loop, and a due one sets its own wake-up, so
    // the idle poll only backs up deliveries made by another process (Postgres deployments).
    this.#options = { idlePollMs: 15_000, concurrency: DELIVERY_CONCURRENCY, ...deps.options };
    this.#defaultSecret = deps.defaultSecret;
    this.#onResult = deps.onResult ?? (() => {});
  }

  readonly #defaultSecret: (owner: string) => Promise<string>;

  async start(): Promise<void> {
    if (this.#options.releaseAllClaimsOnStart) await this.#repo.releaseClaims();
    this.#running = this.loop();
  }

  /** New deliveries exist: look now rather than at the next poll. */
  kick() {
    this.#wake?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.kick();
    // Attempts in flight get a moment to finish, so a receiver that answered is recorded as answered.
    const abort = setTimeout(() => this.#inFlight.abort(new Error('server shutting down')), this.#options.timeoutMs);
    await this.#running;
    clearTimeout(abort);
    await this.#repo.releaseClaims(this.#token).catch(() => {});
  }

  private async loop() {
    while (!this.#stopped) {
      let claimed: WebhookDeliveryRow[] = [];
      try {
        const now = new Date();
        const lease = new Date(now.getTime() + this.#options.timeoutMs * 2 + 30_000);
        claimed = await this.#repo.claimDue(this.#options.concurrency, this.#token, now, lease);
        await Promise.all(claimed.map((delivery) => this.attempt(delivery)));
      } catch (error) {
        this.#log.warn({ err: error }, 'webhook delivery pass failed');
      }
      if (this.#stopped || claimed.length) continue;
      await this.sleep();
    }
  }

  private async sleep() {
    let wait = this.#options.idlePollMs;
    try {
      const due = await this.#repo.nextDueAt();
      if (due) wait = Math.max(0, Math.min(wait, due.getTime() - Date.now()));
    } catch {
      // the poll interval will do
    }
    if (!wait) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, wait);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
    this.#wake = undefined;
  }

  private async signatures(delivery: WebhookDeliveryRow, id: string, at: Date): Promise<string | undefined> {
    const secrets: string[] = [];
    if (delivery.endpoint_id) {
      const endpoint = await this.#repo.findEndpoint(delivery.endpoint_id);
      if (!endpoint || endpoint.disabled_at) return undefined;
      secrets.push(endpoint.secret);
      if (endpoint.previous_secret && endpoint.previous_secret_until && endpoint.previous_secret_until > at) {
        secrets.push(endpoint.previous_secret);
      }
    } else {
      secrets.push(await this.#defaultSecret(delivery.owner));
    }
    return secrets.map((secret) => new Webhook(secret).sign(id, at, delivery.payload)).join(' ');
  }

  private async attempt(delivery: WebhookDeliveryRow): Promise<void> {
    const at = new Date();
    const attempt = delivery.attempts + 1;
    const schedule = this.#options.retryScheduleMs;
    let outcome: AttemptOutcome;
    let result: DeliveryResult = 'failed';
    const record = (statusCode: number | null, durationMs: number, error: string | null) => ({
      at: at.toISOString(),
      statusCode,
      durationMs,
      error,
    });
    const retryOrFail = (statusCode: number | null, durationMs: number, error: string, retryAfterMs?: number) => {
      const delay = schedule[attempt];
      if (delay === undefined) {
        result = 'failed';
        return { status: 'failed' as const, record: record(statusCode, durationMs, `${error}; gave up after ${attempt} attempts`), nextAttemptAt: null };
      }
      result = 'retry';
      const wait = Math.max(delay, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
      return { status: 'pending' as const, record: record(statusCode, durationMs, error), nextAttemptAt: new Date(Date.now() + wait) };
    };

    const signature = await this.signatures(delivery, delivery.id, at);
    if (!signature) {
      result = 'failed';
      outcome = { status: 'failed', record: record(null, 0, 'endpoint disabled'), nextAttemptAt: null };
    } else {
      const headers = {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'webhook-id': delivery.id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signature,
      };
      const started = performance.now();
      try {
        const response = await this.#sender.send(delivery.url, headers, delivery.payload, this.#inFlight.signal);
        const { statusCode, durationMs } = response;
        if (statusCode >= 200 && statusCode < 300) {
          result = 'success';
          outcome = { status: 'succeeded', record: record(statusCode, durationMs, null), nextAttemptAt: null };
        } else if (statusCode === 410) {
          result = 'gone';
          outcome = { status: 'failed', record: record(statusCode, durationMs, 'receiver answered 410 Gone'), nextAttemptAt: null };
        } else {
          outcome = retryOrFail(statusCode, durationMs, `receiver answered ${statusCode}`, response.retryAfterMs);
        }
      } catch (error) {
        const durationMs = Math.round(performance.now() - started);
        const message = error instanceof Error ? error.message : String(error);
        if (error instanceof RefusedTarget || (error as Error)?.name === 'RefusedTarget') {
          result = 'refused';
          outcome = { status: 'failed', record: record(null, durationMs, `refused: ${message}`), nextAttemptAt: null };
        } else {
          outcome = retryOrFail(null, durationMs, message);
        }
      }
    }
    await this.#repo.recordAttempt(delivery.id, this.#token, outcome);
    if (result === 'gone' && delivery.endpoint_id) {
      await this.#repo.setDisabled(delivery.endpoint_id, 'receiver answered 410 Gone');
      await this.#repo.abandonPending(delivery.endpoint_id, 'endpoint disabled after 410 Gone');
      this.#log.warn({ endpoint: delivery.endpoint_id }, 'webhook endpoint disabled: receiver answered 410 Gone');
    }
    this.#onResult(result);
  }
}
