import type { Logger } from 'pino';
import type { BatchesService, BatchStatus } from '../batches/batches-service.ts';
import type { RunEventHub } from '../core/run-event-hub.ts';
import { isTerminal, type RunStatus } from '../domain/run-status.ts';
import type { RunEvent } from '../domain/run-event.ts';
import type { RunsService } from '../core/runs-service.ts';
import type { WebhooksRepository } from '../db/webhooks-repository.ts';
import { webhookEventFor } from './events.ts';
import type { WebhooksService } from './webhooks-service.ts';

/**
 * Turns run events into webhook deliveries (and settles batches when runs finish). Events are
 * handled one at a time in the order they arrive; deliveries are keyed by (target, event), so a
 * process that sees an event twice — or two processes that both see it — make one delivery.
 * A cursor in the database records how far the log was read, so status events written while no
 * dispatcher was listening (a crash between an event and its deliveries) are caught up at start.
 */
export class WebhookDispatcher {
  readonly #hub: RunEventHub;
  readonly #repo: WebhooksRepository;
  readonly #webhooks: WebhooksService;
  readonly #runs: RunsService;
  readonly #batches: BatchesService;
  readonly #log: Logger;
  readonly #progressIntervalMs: number;
  readonly #lastProgress = new Map<string, number>();
  #chain: Promise<void> = Promise.resolve();
  #unwatch: (() => void) | undefined;

  constructor(deps: {
    hub: RunEventHub;
    repo: WebhooksRepository;
    webhooks: WebhooksService;
    runs: RunsService;
    batches: BatchesService;
    log: Logger;
    progressIntervalMs: number;
  }) {
    this.#hub = deps.hub;
    this.#repo = deps.repo;
    this.#webhooks = deps.webhooks;
    this.#runs = deps.runs;
    this.#batches = deps.batches;
    this.#log = deps.log;
    this.#progressIntervalMs = deps.progressIntervalMs;
    deps.batches.onCompleted((batch, owner, webhookUrl) => this.batchCompleted(batch, owner, webhookUrl));
  }

  start() {
    this.#chain = this.catchUp().catch((error) => this.#log.warn({ err: error }, 'webhook catch-up failed'));
    this.#unwatch = this.#hub.watchAll((signal) => {
      if (signal.type !== 'status' && signal.type !== 'progress') return;
      this.#chain = this.#chain
        .then(async () => {
          const event = await this.#repo.runEvent(signal.eventId);
          if (event) await this.handle(event);
        })
        .catch((error) => {
          this.#log.warn({ err: error, runId: signal.runId, eventId: signal.eventId }, 'webhook dispatch failed');
        });
    });
  }

  private async catchUp() {
    let cursor = await this.#repo.dispatchCursor();
    for (;;) {
      const events = await this.#repo.statusEventsAfter(cursor, 500);
      for (const event of events) await this.handle(event);
      if (events.length < 500) return;
      cursor = events.at(-1)!.id;
    }
  }

  async stop() {
    this.#unwatch?.();
    await this.#chain;
  }

  private async handle(event: RunEvent) {
    const type = webhookEventFor(event);
    const status = event.data.status as RunStatus | undefined;
    const terminal = event.type === 'status' && !!status && isTerminal(status);
    if (terminal) this.#lastProgress.delete(event.runId);
    if (type === 'run.progress') {
      const last = this.#lastProgress.get(event.runId) ?? 0;
      if (Date.now() - last < this.#progressIntervalMs) return;
      this.#lastProgress.set(event.runId, Date.now());
    }
    if (type) await this.runEvent(event.runId, event.id, event.at, type, event.data);
    if (terminal) await this.#batches.settleRun(event.runId);
    if (event.type === 'status') await this.#repo.advanceDispatchCursor(event.id);
  }

  private async runEvent(runId: string, eventId: number, at: string, type: NonNullable<ReturnType<typeof webhookEventFor>>, data: Record<string, unknown>) {
    const row = await this.#runs.findOwned(runId).catch(() => undefined);
    if (!row) return;
    const targets = await this.#webhooks.endpointTargets(row.owner, type);
    if (row.webhook_url) targets.push({ endpointId: null, url: row.webhook_url });
    if (!targets.length) return;
    const view = await this.#runs.view(row);
    // The run as GET /api/runs/:id shows it, with the state it had at this event (it may have moved on).
    const payload = {
      type,
      timestamp: at,
      ...view,
      ...(typeof data.status === 'string' && { status: data.status }),
      ...(data.stage !== undefined && { stage: data.stage }),
      ...(typeof data.progress === 'number' && { progress: data.progress }),
    };
    await this.#webhooks.enqueue({ owner: row.owner, type, eventKey: `run-event:${eventId}`, targets, payload, runId });
  }

  private async batchCompleted(batch: BatchStatus, owner: string | null, webhookUrl: string | null) {
    const targets = await this.#webhooks.endpointTargets(owner, 'batch.completed');
    if (webhookUrl) targets.push({ endpointId: null, url: webhookUrl });
    if (!targets.length) return;
    const payload = { type: 'batch.completed', timestamp: batch.completedAt ?? new Date().toISOString(), ...batch };
    await this.#webhooks.enqueue({ owner, type: 'batch.completed', eventKey: `batch:${batch.batchId}`, targets, payload, batchId: batch.batchId });
  }
}
