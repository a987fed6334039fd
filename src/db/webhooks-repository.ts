import { type Kysely, sql } from 'kysely';
import type { RunEvent } from '../domain/run-event.ts';
import type {
  Database,
  NewWebhookDeliveryRow,
  RunEventRow,
  WebhookAttemptRecord,
  WebhookDeliveryRow,
  WebhookEndpointRow,
} from './schema.ts';

export interface NewEndpoint {
  id: string;
  owner: string;
  url: string;
  description: string | null;
  events: string[];
  secret: string;
}

export interface DeliveryFilter {
  owner: string;
  status?: string | undefined;
  endpointId?: string | undefined;
  runId?: string | undefined;
  limit: number;
  offset: number;
}

export interface AttemptOutcome {
  status: 'pending' | 'succeeded' | 'failed';
  record: WebhookAttemptRecord;
  nextAttemptAt: Date | null;
}

/** Webhook endpoints, owners' default secrets and the delivery log: every query on them. */
export class WebhooksRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async insertEndpoint(endpoint: NewEndpoint): Promise<WebhookEndpointRow> {
    return this.#db
      .insertInto('webhook_endpoints')
      .values({ ...endpoint, events: JSON.stringify(endpoint.events), created_at: new Date(), updated_at: new Date() })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  listEndpoints(owner: string): Promise<WebhookEndpointRow[]> {
    return this.#db.selectFrom('webhook_endpoints').selectAll().where('owner', '=', owner).orderBy('created_at').orderBy('id').execute();
  }

  findEndpoint(id: string, owner?: string): Promise<WebhookEndpointRow | undefined> {
    let query = this.#db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id);
    if (owner !== undefined) query = query.where('owner', '=', owner);
    return query.executeTakeFirst();
  }

  async deleteEndpoint(id: string, owner: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('webhook_endpoints').where('id', '=', id).where('owner', '=', owner).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async rotateSecret(id: string, owner: string, secret: string, previousValidUntil: Date): Promise<WebhookEndpointRow | undefined> {
    return this.#db
      .updateTable('webhook_endpoints')
      .set((eb) => ({
        previous_secret: eb.ref('secret'),
        previous_secret_until: previousValidUntil,
        secret,
        updated_at: new Date(),
      }))
      .where('id', '=', id)
      .where('owner', '=', owner)
      .returningAll()
      .executeTakeFirst();
  }

  async setDisabled(id: string, reason: string | null): Promise<WebhookEndpointRow | undefined> {
    return this.#db
      .updateTable('webhook_endpoints')
      .set({ disabled_at: reason ? new Date() : null, disabled_reason: reason, updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  }

  /** The owner's enabled endpoints subscribed to this event type. */
  endpointsFor(owner: string, eventType: string): Promise<WebhookEndpointRow[]> {
    return this.#db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('owner', '=', owner)
      .where('disabled_at', 'is', null)
      .where(sql<boolean>`events @> ${JSON.stringify([eventType])}::jsonb`)
      .execute();
  }

  /** The owner's default signing secret (for per-run webhookUrl deliveries), created on first use. */
  async defaultSecret(owner: string, fresh: () => string): Promise<string> {
    await this.#db
      .insertInto('webhook_secrets')
      .values({ owner, secret: fresh(), created_at: new Date() })
      .onConflict((oc) => oc.column('owner').doNothing())
      .execute();
    const row = await this.#db.selectFrom('webhook_secrets').select('secret').where('owner', '=', owner).executeTakeFirstOrThrow();
    return row.secret;
  }

  runEvent(id: number): Promise<RunEvent | undefined> {
    return this.#db
      .selectFrom('run_events')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
      .then((row) => row && toRunEvent(row));
  }

  /** Status events after `afterId`, oldest first: what a dispatcher that was down has to catch up on. */
  async statusEventsAfter(afterId: number, limit: number): Promise<RunEvent[]> {
    const rows = await this.#db
      .selectFrom('run_events')
      .selectAll()
      .where('id', '>', afterId)
      .where('type', '=', 'status')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toRunEvent);
  }

  /** Where the dispatcher stopped reading; on a first start, the end of the log (history is not replayed). */
  async dispatchCursor(): Promise<number> {
    const row = await this.#db.selectFrom('webhook_dispatch_cursor').select('last_event_id').executeTakeFirst();
    if (row) return Number(row.last_event_id);
    const { latest } = await this.#db
      .selectFrom('run_events')
      .select((eb) => eb.fn.coalesce(eb.fn.max('id'), eb.lit(0)).as('latest'))
      .executeTakeFirstOrThrow();
    await this.advanceDispatchCursor(Number(latest));
    return Number(latest);
  }

  async advanceDispatchCursor(eventId: number): Promise<void> {
    await this.#db
      .insertInto('webhook_dispatch_cursor')
      .values({ id: 1, last_event_id: eventId })
      .onConflict((oc) => oc.column('id').doUpdateSet({ last_event_id: sql<number>`greatest(webhook_dispatch_cursor.last_event_id, excluded.last_event_id)` }))
      .execute();
  }

  /** Inserts deliveries; one already made for the same (target, event) is left alone. Returns how many are new. */
  async insertDeliveries(rows: NewWebhookDeliveryRow[]): Promise<number> {
    if (!rows.length) return 0;
    const inserted = await this.#db
      .insertInto('webhook_deliveries')
      .values(rows)
      .onConflict((oc) => oc.columns(['target', 'event_key']).doNothing())
      .returning('id')
      .execute();
    return inserted.length;
  }

  /** Takes up to `limit` due deliveries for this process until `leaseUntil`. */
  async claimDue(limit: number, token: string, now: Date, leaseUntil: Date): Promise<WebhookDeliveryRow[]> {
    return this.#db
      .updateTable('webhook_deliveries')
      .set({ claim_token: token, next_attempt_at: leaseUntil })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('webhook_deliveries')
          .select('id')
          .where('status', '=', 'pending')
          .where('next_attempt_at', '<=', now)
          .orderBy('next_attempt_at')
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .returningAll()
      .execute();
  }

  async nextDueAt(): Promise<Date | undefined> {
    const row = await this.#db
      .selectFrom('webhook_deliveries')
      .select((eb) => eb.fn.min('next_attempt_at').as('due'))
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return row?.due ? new Date(row.due as Date) : undefined;
  }

  /** Records one attempt, if this process still holds the delivery. */
  async recordAttempt(id: string, token: string, outcome: AttemptOutcome): Promise<void> {
    await this.#db
      .updateTable('webhook_deliveries')
      .set((eb) => ({
        status: outcome.status,
        attempts: eb('attempts', '+', 1),
        attempt_log: sql`attempt_log || ${JSON.stringify([outcome.record])}::jsonb`,
        last_status_code: outcome.record.statusCode,
        last_error: outcome.record.error,
        next_attempt_at: outcome.nextAttemptAt,
        claim_token: null,
        updated_at: new Date(),
        ...(outcome.status === 'succeeded' && { delivered_at: new Date() }),
      }))
      .where('id', '=', id)
      .where('claim_token', '=', token)
      .execute();
  }

  /** Gives back claims (of one process, or all when the embedded store starts) so they are due now. */
  async releaseClaims(token?: string): Promise<void> {
    let query = this.#db
      .updateTable('webhook_deliveries')
      .set({ claim_token: null, next_attempt_at: new Date() })
      .where('status', '=', 'pending')
      .where('claim_token', 'is not', null);
    if (token) query = query.where('claim_token', '=', token);
    await query.execute();
  }

  /** An endpoint answered 410 Gone: what it still had pending will never be sent. */
  async abandonPending(endpointId: string, reason: string): Promise<void> {
    await this.#db
      .updateTable('webhook_deliveries')
      .set({ status: 'failed', last_error: reason, next_attempt_at: null, claim_token: null, updated_at: new Date() })
      .where('endpoint_id', '=', endpointId)
      .where('status', '=', 'pending')
      .execute();
  }

  listDeliveries(filter: DeliveryFilter): Promise<WebhookDeliveryRow[]> {
    let query = this.#db.selectFrom('webhook_deliveries').selectAll().where('owner', '=', filter.owner);
    if (filter.status) query = query.where('status', '=', filter.status as WebhookDeliveryRow['status']);
    if (filter.endpointId) query = query.where('endpoint_id', '=', filter.endpointId);
    if (filter.runId) query = query.where('run_id', '=', filter.runId);
    return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).offset(filter.offset).execute();
  }
}

const toRunEvent = (row: RunEventRow): RunEvent => ({ id: Number(row.id), runId: row.run_id, at: row.at.toISOString(), type: row.type, data: row.data });
