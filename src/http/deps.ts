import type { ApiKeyService } from '../auth/key-service.ts';
import type { BatchesService } from '../batches/batches-service.ts';
import type { Config } from '../config.ts';
import type { EngineCatalog } from '../core/engine-catalog.ts';
import type { ImageUploads } from '../core/image-uploads.ts';
import type { LimitsReport } from '../core/limits-report.ts';
import type { PredictionsService } from '../core/predictions-service.ts';
import type { RunFilesService } from '../core/run-files-service.ts';
import type { RunsService } from '../core/runs-service.ts';
import type { WorkersService } from '../core/workers-service.ts';
import type { AnalyticsService } from '../metrics/analytics-service.ts';
import type { ReconMetrics } from '../metrics/metrics.ts';
import type { SessionsService } from '../sessions/sessions-service.ts';
import type { WebhooksService } from '../webhooks/webhooks-service.ts';
import type { BlueprintDesignService } from '../blueprints/blueprint-design-service.ts';
import type { BlueprintsService } from '../blueprints/blueprints-service.ts';
import type { ExportService } from '../blueprints/export-service.ts';
import type { FalWebhookService } from '../blueprints/fal-webhook-service.ts';
import type { GenerationService } from '../blueprints/generation-service.ts';
import type { RegionService } from '../blueprints/region-service.ts';

/** What the HTTP face may use: services only — never repositories, the queue or the blob store. */
export interface HttpDeps {
  config: Config;
  runs: RunsService;
  uploads: ImageUploads;
  workers: WorkersService;
  files: RunFilesService;
  predictions: PredictionsService;
  engines: EngineCatalog;
  limits: LimitsReport;
  storeKind: 'pglite' | 'postgres';
  keys: ApiKeyService;
  sessions: SessionsService;
  webhooks: WebhooksService;
  batches: BatchesService;
  metrics: ReconMetrics;
  analytics: AnalyticsService;
  blueprints: BlueprintsService;
  blueprintDesign: BlueprintDesignService;
  blueprintRegions: RegionService;
  generations: GenerationService;
  blueprintExports: ExportService;
  falWebhooks: FalWebhookService;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key that made the request; null when the server runs without keys. */
    owner: string | null;
  }
}
