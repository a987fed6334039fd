import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BlobArea } from '../blobs/blob-keys.ts';
import type { BlobStore } from '../blobs/blob-store.ts';
import type { Config } from '../config.ts';
import { EventFeed } from '../core/event-feed.ts';
import { NotifyHub } from '../core/notify-hub.ts';
import type { Store } from '../db/database.ts';
import { type BlueprintEvent, BlueprintEventsRepository } from '../db/blueprint-events-repository.ts';
import { BlueprintJobsRepository } from '../db/blueprint-jobs-repository.ts';
import { BlueprintLibraryRepository } from '../db/blueprint-library-repository.ts';
import { BlueprintPromptsRepository } from '../db/blueprint-prompts-repository.ts';
import { BlueprintsRepository } from '../db/blueprints-repository.ts';
import { isBlueprintId } from '../domain/blueprint-model.ts';
import { FalGateway } from '../engines/fal/fal-gateway.ts';
import { IMAGE_MODELS } from '../engines/fal/image-models.ts';
import { FalWebhookVerifier } from '../engines/fal/webhook-verifier.ts';
import type { RunQueue } from '../queue/run-queue.ts';
import type { WebhooksService } from '../webhooks/webhooks-service.ts';
import { BlueprintDesignService } from './blueprint-design-service.ts';
import { BlueprintFiles } from './blueprint-files.ts';
import { BlueprintsService } from './blueprints-service.ts';
import { EvolutionJob } from './evolution-job.ts';
import { ExportService } from './export-service.ts';
import { FalJobRunner, type JobLease } from './fal-job-runner.ts';
import { FalWebhookService } from './fal-webhook-service.ts';
import { GenerationJob } from './generation-job.ts';
import { GenerationService } from './generation-service.ts';
import { RegionService } from './region-service.ts';
import { SuggestionJob } from './suggestion-job.ts';

/** The pg-boss queue fal jobs wait in. */
export const FAL_JOBS_QUEUE = 'blueprints.fal';

/** Blueprint files: `blueprints/<blueprintId>/…` beside `runs/`. */
export const BLUEPRINT_AREA: BlobArea = { name: 'blueprints', isScope: isBlueprintId };
const BLUEPRINT_EVENTS_CHANNEL = 'recon_blueprint_events';

export interface BlueprintsModule {
  blueprints: BlueprintsService;
  design: BlueprintDesignService;
  regions: RegionService;
  generations: GenerationService;
  exports: ExportService;
  falWebhooks: FalWebhookService;
  runner: FalJobRunner;
  /** Takes fal jobs from the queue (after re-queuing, on the embedded store, those a crash interrupted). */
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

export interface BlueprintsModuleDeps {
  store: Store;
  queue: RunQueue;
  config: Config;
  webhooks: WebhooksService;
  log: Logger;
  /** Where blueprint files live: the BLUEPRINT_AREA of the run files' store (data folder or S3). */
  blobs: BlobStore;
}

/** Wires the defect-blueprint wing: its stores, fal client, job runner and services. */
export async function createBlueprints(deps: BlueprintsModuleDeps): Promise<BlueprintsModule> {
  const { store, queue, config, log } = deps;
  const fal = config.fal;
  const hub = new NotifyHub(BLUEPRINT_EVENTS_CHANNEL);
  await hub.start(store);
  // Sent inside transactions: the queue must exist (and be cached) before the first one.
  await queue.prepareNamed(FAL_JOBS_QUEUE);

  const repo = new BlueprintsRepository(store.db);
  const jobs = new BlueprintJobsRepository(store.db);
  const prompts = new BlueprintPromptsRepository(store.db);
  const events = new BlueprintEventsRepository(store.db);
  const library = new BlueprintLibraryRepository(store.db);
  const files = new BlueprintFiles({
    blobs: deps.blobs,
    scratchDir: join(config.dataDir, 'tmp', 'blueprints'),
  });
  const stop = new AbortController();
  const gateway = new FalGateway({ key: fal.key ?? '', queueUrl: fal.queueUrl, restUrl: fal.restUrl, maxDownloadBytes: fal.maxDownloadBytes, stop: stop.signal });
  const feed = new EventFeed<BlueprintEvent>({
    events,
    hub,
    exists: async (id) => !!(await repo.find(id)),
    isFinal: (event) => event.type === 'status' && event.data.status !== 'generating',
  });

  let blueprints: BlueprintsService | undefined;
  const runner = new FalJobRunner({
    jobs,
    events,
    signals: { watch: (id, listener) => hub.watch(id, (signal) => listener(signal.type)) },
    gateway,
    queue: { enqueue: (lease: JobLease, options) => queue.send(FAL_JOBS_QUEUE, lease, options) },
    kinds: {
      generation: new GenerationJob({ design: repo, prompts, files, gateway }),
      suggestion: new SuggestionJob({ design: repo, files, gateway, model: fal.vlmModel }),
      evolution: new EvolutionJob({ design: repo, prompts, jobs, model: fal.llmModel }),
    },
    onSettled: (job) => blueprints!.jobSettled(job),
    log,
    stop: stop.signal,
    options: {
      publicUrl: config.publicUrl,
      pollMs: fal.pollMs,
      pollMaxMs: fal.pollMaxMs,
      deadlineMs: fal.deadlineMs,
      maxAttempts: fal.maxAttempts,
      retry: { baseMs: config.retryBaseMs, maxMs: config.retryMaxMs },
      orphanGraceMs: fal.orphanGraceMs,
    },
  });
  blueprints = new BlueprintsService({
    repo,
    jobs,
    prompts,
    events,
    files,
    feed,
    runner,
    webhooks: deps.webhooks,
    log,
    maxPerKey: config.blueprints.maxPerKey,
    capabilities: {
      generation: !!fal.key,
      suggestions: !!(fal.key && fal.vlmEndpoint),
      evolution: !!(fal.key && fal.llmEndpoint),
      webhooks: !!config.publicUrl,
      defaultModel: fal.imageEndpoint,
      models: Object.entries(IMAGE_MODELS).map(([id, model]) => ({ id, label: model.label, kind: model.kind })),
    },
  });
  const design = new BlueprintDesignService({
    blueprints,
    repo,
    prompts,
    jobs,
    events,
    library,
    files,
    runner,
    limits: { ...config.blueprints, maxFileBytes: config.limits.maxFileBytes },
  });
  const regions = new RegionService({ blueprints, repo, jobs, events, files, runner, maxRegions: config.blueprints.maxRegions });
  const generations = new GenerationService({
    blueprints,
    design,
    regions,
    repo,
    jobs,
    prompts,
    events,
    files,
    runner,
    endpoints: { vlm: fal.vlmEndpoint, llm: fal.llmEndpoint },
    maxGenerations: config.blueprints.maxGenerations,
  });
  let working = false;
  return {
    blueprints,
    design,
    regions,
    generations,
    exports: new ExportService({ blueprints, repo, jobs, prompts, events, library, files }),
    falWebhooks: new FalWebhookService({ verifier: new FalWebhookVerifier({ jwksUrl: fal.jwksUrl }), runner, log }),
    runner,
    async startWorker() {
      if (store.kind === 'pglite') {
        const recovered = await runner.recoverInterrupted();
        if (recovered) log.warn({ jobs: recovered }, 're-queued blueprint jobs interrupted by a restart');
      }
      await queue.workNamed<JobLease>(FAL_JOBS_QUEUE, fal.concurrency, (lease) => runner.handle(lease));
      working = true;
    },
    async stop() {
      stop.abort();
      if (working) await queue.stopNamed([FAL_JOBS_QUEUE]);
      await runner.drain();
      await hub.stop();
    },
  };
}
