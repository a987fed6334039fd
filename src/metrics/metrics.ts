import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RunEventHub } from '../core/run-event-hub.ts';
import { isTerminal, type RunStatus } from '../domain/run-status.ts';
import type { RunsService } from '../core/runs-service.ts';
import type { AnalyticsRepository } from '../db/analytics-repository.ts';
import type { WebhooksRepository } from '../db/webhooks-repository.ts';
import type { DeliveryResult } from '../webhooks/delivery-loop.ts';

interface StageClock {
  engine: string;
  stage: string;
  since: number;
}

/**
 * The server's Prometheus metrics, in a registry of its own. Run metrics follow the run event
 * log (so runs worked by any process are seen), queue depth is counted by SQL when scraped.
 */
const EVENT_LOOP_SAMPLE_MS = 200;

export class ReconMetrics {
  readonly registry = new Registry();
  readonly #runsTotal: Counter<'engine' | 'status'>;
  readonly #runDuration: Histogram<'engine' | 'stage'>;
  readonly #imagesPerRun: Histogram<'engine'>;
  readonly #httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly #uploadBytes: Counter<'route'>;
  readonly #webhookDeliveries: Counter<'result'>;
  readonly #stages = new Map<string, StageClock>();
  #chain: Promise<void> = Promise.resolve();
  #unwatch: (() => void) | undefined;

  constructor(deps: { analytics: AnalyticsRepository; engineIds: () => string[] }) {
    // The event-loop lag histogram samples on a timer; at prom-client's default 10 ms that timer
    // woke an idle server 100 times a second (most of its idle CPU). A stall still shows in full.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    const registers = [this.registry];
    this.#runsTotal = new Counter({
      name: 'recon_runs_total',
      help: 'Runs that reached a final status, by engine and status',
      labelNames: ['engine', 'status'],
      registers,
    });
    this.#runDuration = new Histogram({
      name: 'recon_run_duration_seconds',
      help: 'Time runs spent in each stage (stage="total": start to finish)',
      labelNames: ['engine', 'stage'],
      buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600],
      registers,
    });
    this.#imagesPerRun = new Histogram({
      name: 'recon_images_per_run',
      help: 'Images in each run that reached a final status',
      labelNames: ['engine'],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    });
    const { analytics, engineIds } = deps;
    /** A gauge per engine read from the database at scrape time; engines with nothing are 0, not missing. */
    const perEngine = (name: string, help: string, read: () => Promise<Map<string, number>>) =>
      new Gauge({
        name,
        help,
        labelNames: ['engine'],
        registers,
        async collect() {
          const counts = await read();
          this.reset();
          for (const engine of new Set([...engineIds(), ...counts.keys()])) this.set({ engine }, counts.get(engine) ?? 0);
        },
      });
    perEngine('recon_queue_depth', 'Runs waiting for a worker, per engine', () => analytics.queueDepth());
    perEngine(
      'recon_runs_in_progress',
      'Runs a worker holds right now, per engine (with recon_queue_depth: the work an autoscaler sizes workers for)',
      () => analytics.inProgress(),
    );
    this.#httpDuration = new Histogram({
      name: 'recon_http_request_duration_seconds',
      help: 'HTTP request durations by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#uploadBytes = new Counter({
      name: 'recon_upload_bytes_total',
      help: 'Bytes received in multipart uploads (request bodies), by route',
      labelNames: ['route'],
      registers,
    });
    this.#webhookDeliveries = new Counter({
      name: 'recon_webhook_deliveries_total',
      help: 'Webhook delivery attempts by result (success, retry, failed, refused, gone)',
      labelNames: ['result'],
      registers,
    });
  }

  /** Times every request by its route pattern (never the raw URL: ids would explode the labels). */
  instrumentHttp(app: FastifyInstance) {
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      this.#httpDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
      const length = Number(request.headers['content-length']);
      const multipart = request.headers['content-type']?.startsWith('multipart/') === true;
      if (multipart && Number.isFinite(length) && length > 0) this.#uploadBytes.inc({ route }, length);
      done();
    });
  }

  webhookDelivery(result: DeliveryResult) {
    this.#webhookDeliveries.inc({ result });
  }

  /** Follows status events: stage durations, final statuses, images per run. */
  watchRuns(hub: RunEventHub, runs: RunsService, events: WebhooksRepository, log: Logger) {
    this.#unwatch = hub.watchAll((signal) => {
      if (signal.type !== 'status') return;
      this.#chain = this.#chain
        .then(async () => {
          const event = await events.runEvent(signal.eventId);
          if (!event) return;
          const row = await runs.findOwned(event.runId).catch(() => undefined);
          if (!row) return;
          const at = Date.parse(event.at);
          const status = event.data.status as RunStatus;
          const stage = (event.data.stage as string | null | undefined) ?? (status === 'processing' ? undefined : status);
          const clock = this.#stages.get(row.id);
          if (clock && stage !== undefined && stage !== clock.stage) {
            this.#runDuration.observe({ engine: clock.engine, stage: clock.stage }, Math.max(0, at - clock.since) / 1000);
          }
          if (isTerminal(status)) {
            this.#stages.delete(row.id);
            this.#runsTotal.inc({ engine: row.engine, status });
            if (row.started_at && row.finished_at) {
              const seconds = (row.finished_at.getTime() - row.started_at.getTime()) / 1000;
              this.#runDuration.observe({ engine: row.engine, stage: 'total' }, Math.max(0, seconds));
            }
            const view = await runs.view(row);
            this.#imagesPerRun.observe({ engine: row.engine }, view.images.length);
          } else if (stage && stage !== clock?.stage) {
            this.#stages.set(row.id, { engine: row.engine, stage, since: at });
          }
        })
        .catch((error) => log.warn({ err: error }, 'run metrics update failed'));
    });
  }

  async stop() {
    this.#unwatch?.();
    await this.#chain;
  }

  contentType() {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
