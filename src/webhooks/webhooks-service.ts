import { webhookNotFound, webhookUrlRefused } from '../domain/problems.ts';
import type { NewWebhookDeliveryRow, WebhookDeliveryRow, WebhookEndpointRow } from '../db/schema.ts';
import type { WebhooksRepository } from '../db/webhooks-repository.ts';
import { refuseUrlText } from './address-guard.ts';
import { WEBHOOK_EVENTS, type WebhookEventType } from '../domain/webhook-events.ts';
import { newDeliveryId, newEndpointId, newWebhookSecret, ownerKey } from './secrets.ts';

/** After a rotation the old secret still signs (as a second signature) for this long. */
const ROTATION_GRACE_MS = 24 * 3600 * 1000;

export interface EndpointView {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  disabled: boolean;
  disabledReason: string | null;
  createdAt: string;
}

export interface DeliveryView {
  id: string;
  endpointId: string | null;
  url: string;
  eventType: string;
  runId: string | null;
  batchId: string | null;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  attemptLog: { at: string; statusCode: number | null; durationMs: number; error: string | null }[];
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** A target for one event: a registered endpoint, or the run's (or batch's) own webhookUrl. */
export interface DeliveryTarget {
  endpointId: string | null;
  url: string;
}

const endpointView = (row: WebhookEndpointRow): EndpointView => ({
  id: row.id,
  url: row.url,
  description: row.description,
  events: row.events,
  disabled: !!row.disabled_at,
  disabledReason: row.disabled_reason,
  createdAt: row.created_at.toISOString(),
});

const deliveryView = (row: WebhookDeliveryRow): DeliveryView => ({
  id: row.id,
  endpointId: row.endpoint_id,
  url: row.url,
  eventType: row.event_type,
  runId: row.run_id,
  batchId: row.batch_id,
  status: row.status,
  attempts: row.attempts,
  attemptLog: row.attempt_log,
  lastStatusCode: row.last_status_code,
  lastError: row.last_error,
  nextAttemptAt: row.status === 'pending' && row.next_attempt_at ? row.next_attempt_at.toISOString() : null,
  createdAt: row.created_at.toISOString(),
  deliveredAt: row.delivered_at?.toISOString() ?? null,
});

/** Webhook endpoints, secrets and the delivery log, as owners see them; and turning events into deliveries. */
export class WebhooksService {
  readonly #repo: WebhooksRepository;
  readonly #allowPrivate: boolean;
  readonly #firstDelayMs: number;
  #onEnqueued: () => void = () => {};

  constructor(deps: { repo: WebhooksRepository; allowPrivate: boolean; retryScheduleMs: number[] }) {
    this.#repo = deps.repo;
    this.#allowPrivate = deps.allowPrivate;
    this.#firstDelayMs = deps.retryScheduleMs[0] ?? 0;
  }

  /** Called whenever new deliveries exist (the delivery loop wakes up). */
  onEnqueued(listener: () => void) {
    this.#onEnqueued = listener;
  }

  /** Refuses URLs that can never be delivered to: wrong scheme, or literally private without the opt-in. */
  assertAcceptableUrl(url: string, field = 'url') {
    const reason = refuseUrlText(url, this.#allowPrivate);
    if (reason) throw webhookUrlRefused(field, reason);
  }

  async register(owner: string | null, input: { url: string; events?: string[] | undefined; description?: string | undefined }) {
    this.assertAcceptableUrl(input.url);
    const events = input.events?.length ? [...new Set(input.events)] : [...WEBHOOK_EVENTS];
    const row = await this.#repo.insertEndpoint({
      id: newEndpointId(),
      owner: ownerKey(owner),
      url: input.url,
      description: input.description ?? null,
      events,
      secret: newWebhookSecret(),
    });
    return { ...endpointView(row), secret: row.secret };
  }

  async list(owner: string | null): Promise<EndpointView[]> {
    return (await this.#repo.listEndpoints(ownerKey(owner))).map(endpointView);
  }

  async get(owner: string | null, id: string): Promise<EndpointView> {
    const row = await this.#repo.findEndpoint(id, ownerKey(owner));
    if (!row) throw webhookNotFound(id);
    return endpointView(row);
  }

  async remove(owner: string | null, id: string): Promise<void> {
    if (!(await this.#repo.deleteEndpoint(id, ownerKey(owner)))) throw webhookNotFound(id);
  }

  async rotateSecret(owner: string | null, id: string) {
    const row = await this.#repo.rotateSecret(id, ownerKey(owner), newWebhookSecret(), new Date(Date.now() + ROTATION_GRACE_MS));
    if (!row) throw webhookNotFound(id);
    return { ...endpointView(row), secret: row.secret };
  }

  async enable(owner: string | null, id: string): Promise<EndpointView> {
    await this.get(owner, id);
    const row = await this.#repo.setDisabled(id, null);
    if (!row) throw webhookNotFound(id);
    return endpointView(row);
  }

  defaultSecret(owner: string | null): Promise<string> {
    return this.#repo.defaultSecret(ownerKey(owner), newWebhookSecret);
  }

  async deliveries(
    owner: string | null,
    filter: { status?: string | undefined; endpointId?: string | undefined; runId?: string | undefined; limit: number; offset: number },
  ): Promise<DeliveryView[]> {
    return (await this.#repo.listDeliveries({ ...filter, owner: ownerKey(owner) })).map(deliveryView);
  }

  /** The owner's enabled endpoints that subscribed to this event type. */
  async endpointTargets(owner: string | null, type: WebhookEventType): Promise<DeliveryTarget[]> {
    return (await this.#repo.endpointsFor(ownerKey(owner), type)).map((e) => ({ endpointId: e.id, url: e.url }));
  }

  /**
   * One delivery per target for an event, keyed by (target, eventKey): seeing the same event
   * again — in another process, or after a restart — adds nothing.
   */
  async enqueue(input: {
    owner: string | null;
    type: WebhookEventType;
    eventKey: string;
    targets: DeliveryTarget[];
    payload: Record<string, unknown>;
    runId?: string;
    batchId?: string;
  }): Promise<number> {
    const now = new Date();
    const body = JSON.stringify(input.payload);
    const rows: NewWebhookDeliveryRow[] = input.targets.map((target) => ({
      id: newDeliveryId(),
      owner: ownerKey(input.owner),
      target: target.endpointId ?? 'url',
      endpoint_id: target.endpointId,
      url: target.url,
      event_type: input.type,
      event_key: input.eventKey,
      run_id: input.runId ?? null,
      batch_id: input.batchId ?? null,
      payload: body,
      status: 'pending',
      attempt_log: '[]',
      last_status_code: null,
      last_error: null,
      next_attempt_at: new Date(now.getTime() + this.#firstDelayMs),
      claim_token: null,
      created_at: now,
      updated_at: now,
      delivered_at: null,
    }));
    const added = await this.#repo.insertDeliveries(rows);
    if (added) this.#onEnqueued();
    return added;
  }
}
