import type { ApiKeyService } from '../auth/key-service.ts';
import type { BatchesService } from '../batches/batches-service.ts';
import type { BlobStore } from '../blobs/blob-store.ts';
import type { Config } from '../config.ts';
import type { PredictionsService } from '../core/predictions-service.ts';
import type { RunEventHub } from '../core/run-event-hub.ts';
import type { RunsService } from '../core/runs-service.ts';
import type { RunEventsRepository } from '../db/run-events-repository.ts';
import type { EngineRegistry } from '../engines/registry.ts';
import type { AnalyticsService } from '../metrics/analytics-service.ts';
import type { ReconMetrics } from '../metrics/metrics.ts';
import type { SessionsService } from '../sessions/sessions-service.ts';
import type { WebhooksService } from '../webhooks/webhooks-service.ts';

/** What the HTTP face may use: services and read-side helpers, never the queue or raw SQL. */
export interface HttpDeps {
  config: Config;
  runs: RunsService;
  predictions: PredictionsService;
  runEvents: RunEventsRepository;
  hub: RunEventHub;
  blobs: BlobStore;
  engines: EngineRegistry;
  storeKind: 'pglite' | 'postgres';
  keys: ApiKeyService;
  sessions: SessionsService;
  webhooks: WebhooksService;
  batches: BatchesService;
  metrics: ReconMetrics;
  analytics: AnalyticsService;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key that made the request; null when the server runs without keys. */
    owner: string | null;
  }
}
