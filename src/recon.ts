import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ApiKeyService } from './auth/key-service.ts';
import { BatchesService } from './batches/batches-service.ts';
import { isLoopbackHost } from './auth/loopback.ts';
import { type BlobArea, RUN_AREA } from './blobs/blob-keys.ts';
import type { BlobStore } from './blobs/blob-store.ts';
import { LocalBlobStore } from './blobs/local-blob-store.ts';
import { BlobSweep, type BlobSweepReport } from './core/blob-sweep.ts';
import { ImageUploads } from './core/image-uploads.ts';
import { Periodic } from './core/periodic.ts';
import { WorkersService } from './core/workers-service.ts';
import { WorkersRepository } from './db/workers-repository.ts';
import { RECON_VERSION } from './domain/version.ts';
import { WorkerPresence } from './worker/worker-presence.ts';
import { type Config, ConfigError } from './config.ts';
import { EngineCatalog } from './core/engine-catalog.ts';
import { LimitsReport } from './core/limits-report.ts';
import { RunEventFeed } from './core/run-event-feed.ts';
import { RunEventHub } from './core/run-event-hub.ts';
import { RunFilesService } from './core/run-files-service.ts';
import { PredictionsService } from './core/predictions-service.ts';
import { RunExecution } from './core/run-execution.ts';
import { RunsService } from './core/runs-service.ts';
import { openStore, type Store } from './db/database.ts';
import { AnalyticsRepository } from './db/analytics-repository.ts';
import { ApiKeysRepository } from './db/api-keys-repository.ts';
import { BatchesRepository } from './db/batches-repository.ts';
import { RunEventsRepository } from './db/run-events-repository.ts';
import { RunsRepository } from './db/runs-repository.ts';
import { RunStagesRepository } from './db/run-stages-repository.ts';
import { SessionsRepository } from './db/sessions-repository.ts';
import { WebhooksRepository } from './db/webhooks-repository.ts';
import { createEngineRegistry } from './engines/index.ts';
import type { EngineRegistry } from './engines/registry.ts';
import { buildApp } from './http/app.ts';
import { PostProcessor } from './postprocess/post-processor.ts';
import { createPipelines } from './pipelines/index.ts';
import { RunPlanner } from './pipelines/run-planner.ts';
import { AnalyticsService } from './metrics/analytics-service.ts';
import { ReconMetrics } from './metrics/metrics.ts';
import { RunQueue } from './queue/run-queue.ts';
import { SessionSweeper } from './sessions/session-sweeper.ts';
import { SessionsService } from './sessions/sessions-service.ts';
import { DeliveryLoop } from './webhooks/delivery-loop.ts';
import { WebhookDispatcher } from './webhooks/event-dispatcher.ts';
import { type Resolve, WebhookSender } from './webhooks/sender.ts';
import { WebhooksService } from './webhooks/webhooks-service.ts';
import { RunWorker } from './worker/run-worker.ts';
import { BLUEPRINT_AREA, createBlueprints } from './blueprints/blueprints-module.ts';

export interface Recon {
  config: Config;
  store: Store;
  runs: RunsService;
  engines: EngineRegistry;
  /** Where run files live: the data folder, or the S3 bucket. */
  blobs: BlobStore;
  app: FastifyInstance;
  worker: RunWorker | undefined;
  /** Where the HTTP server listens, once `listen()` ran. */
  url: string | undefined;
  /** Opens the HTTP port, then takes jobs: the first /api/health need not wait for every queue's first fetch. */
  listen(): Promise<string>;
  /** Starts taking queued jobs, once (listen() does; a process that serves no HTTP, like `recon worker`, calls it). */
  takeJobs(): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  /** Extra set-up of the engine registry (tests register engines of their own). */
  engines?: (registry: EngineRegistry) => void;
  /** Start the queue workers in this process (`recon serve` does; `recon serve --no-workers` doesn't). */
  workers?: boolean;
  /** How webhook target names are resolved (tests inject answers; the default asks the system). */
  webhookResolve?: Resolve;
  /** Sweep uncommitted blobs now and then (`recon serve` does; `recon worker` leaves it to the servers). */
  sweepBlobs?: boolean;
}

/**
 * Stored files in the S3 bucket when S3_BUCKET is set (checked now, so a wrong setting stops the
 * start), in the data folder otherwise: one store per area (runs, blueprints).
 */
async function openBlobStores(config: Config, cleanups: (() => Promise<void>)[]): Promise<(area: BlobArea) => BlobStore> {
  if (!config.s3) {
    const stagingDir = join(config.dataDir, 'tmp', 'staging');
    return (area) => new LocalBlobStore(join(config.dataDir, area.name), { stagingDir, area });
  }
  // The AWS SDK is a fifth of a second and 15 MB of heap: loaded only by servers that use S3.
  const [{ S3BlobStore }, { createS3Client }] = await Promise.all([import('./blobs/s3-blob-store.ts'), import('./blobs/s3-client.ts')]);
  const client = createS3Client(config.s3);
  cleanups.push(async () => client.destroy());
  const { bucket, prefix, partBytes, partConcurrency, presignSeconds } = config.s3;
  const storeFor = (area: BlobArea) => new S3BlobStore({ client, options: { bucket, prefix, partBytes, partConcurrency, presignSeconds }, area });
  await storeFor(RUN_AREA)
    .check()
    .catch((error: Error) => {
      throw new ConfigError(error.message);
    });
  return storeFor;
}

function logSweep(log: Logger, report: BlobSweepReport) {
  const found = report.staged + report.uncommitted.length + report.orphanRuns.length + (report.multipartUploads === 'unsupported' ? 0 : report.multipartUploads);
  if (found) log.warn(report, 'removed blobs that no committed row mentions (left by a crash)');
}

/** Wires the store, queue, blobs, services, worker and HTTP app together. */
export async function startRecon(config: Config, options: StartOptions): Promise<Recon> {
  const { log } = options;
  const store = await openStore(config);
  const hub = new RunEventHub();
  const cleanups: (() => Promise<void>)[] = [() => store.close()];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => log.warn({ err: error }, 'shutdown step failed'));
  };
  try {
    await hub.start(store);
    cleanups.push(() => hub.stop());
    const queue = await RunQueue.start(store, (error) => log.error({ err: error }, 'queue error'), {
      heartbeatSeconds: config.workers.heartbeatSeconds,
      superviseSeconds: config.workers.superviseSeconds,
    });
    cleanups.push(() => queue.stop());

    if (store.kind === 'pglite') {
      // The embedded store is this process's alone, so scratch files a previous process left
      // (half-received uploads, engine work folders) are ours to remove.
      await rm(join(config.dataDir, 'tmp'), { recursive: true, force: true });
      await rm(join(config.dataDir, 'work'), { recursive: true, force: true });
    }
    const keys = new ApiKeyService(new ApiKeysRepository(store.db), config.auth.envKeys);
    const runsRepository = new RunsRepository(store.db);
    const runEvents = new RunEventsRepository(store.db);
    const blobStores = await openBlobStores(config, cleanups);
    const blobs = blobStores(RUN_AREA);
    const engines = createEngineRegistry(config);
    cleanups.push(async () => {
      await Promise.all(engines.list().map((engine) => engine.close?.()));
    });
    options.engines?.(engines);
    const unknownWorkerEngines = (config.workerEngines ?? []).filter((id) => !engines.has(id));
    if (unknownWorkerEngines.length) {
      throw new ConfigError(`RECON_WORKER_ENGINES names ${unknownWorkerEngines.join(', ')}, which this process does not offer; it offers ${engines.list().map((e) => e.id).join(', ')}`);
    }
    await queue.prepare(engines.list().map((engine) => engine.id));
    const feed = new RunEventFeed({ events: runEvents, hub, runExists: async (id) => !!(await runsRepository.find(id)) });
    const stages = new RunStagesRepository(store.db);
    const pipelines = createPipelines(config, engines);
    const planner = new RunPlanner({ engines, pipelines });
    const runs = new RunsService({ runs: runsRepository, events: runEvents, blobs, queue, stages, planner, limits: config.limits, hub, feed });
    const execution = new RunExecution({ runs: runsRepository, stages, events: runEvents, blobs, service: runs });
    const sweep = new BlobSweep({ runs: runsRepository, blobs });
    const sweepWindow = () => ({ recentSince: new Date(Date.now() - 2 * config.blobSweep.intervalMs) });
    if (store.kind === 'pglite') {
      // Nothing else writes to this store: whatever is staged or reserved was cut short by a restart.
      logSweep(log, await sweep.sweep(new Date(), sweepWindow().recentSince));
    }
    if (options.sweepBlobs ?? true) {
      const sweeps = new Periodic({
        task: async () => logSweep(log, await sweep.sweep(new Date(Date.now() - config.blobSweep.stagingMaxAgeMs), sweepWindow().recentSince)),
        intervalMs: config.blobSweep.intervalMs,
        onError: (error) => log.warn({ err: error }, 'blob sweep failed'),
      });
      sweeps.start();
      cleanups.push(() => sweeps.stop());
    }

    // Webhooks, batches and metrics follow the run event log; they watch before the worker starts,
    // so runs it recovers are seen too.
    const webhooksRepository = new WebhooksRepository(store.db);
    const analyticsRepository = new AnalyticsRepository(store.db);
    const metrics = new ReconMetrics({ analytics: analyticsRepository, engineIds: () => engines.list().map((e) => e.id) });
    const webhooks = new WebhooksService({ repo: webhooksRepository, ...config.webhooks });
    const batches = new BatchesService({ repo: new BatchesRepository(store.db), runs });
    const dispatcher = new WebhookDispatcher({
      hub,
      repo: webhooksRepository,
      webhooks,
      runs,
      batches,
      log,
      progressIntervalMs: config.webhooks.progressIntervalMs,
    });
    const deliveries = new DeliveryLoop({
      repo: webhooksRepository,
      sender: new WebhookSender({ ...config.webhooks, ...(options.webhookResolve && { resolve: options.webhookResolve }) }),
      log,
      options: { ...config.webhooks, releaseAllClaimsOnStart: store.kind === 'pglite' },
      defaultSecret: (owner) => webhooks.defaultSecret(owner),
      onResult: (result) => metrics.webhookDelivery(result),
    });
    webhooks.onEnqueued(() => deliveries.kick());
    metrics.watchRuns(hub, runs, webhooksRepository, log);
    dispatcher.start();
    await deliveries.start();
    cleanups.push(async () => {
      await dispatcher.stop();
      await metrics.stop();
      await deliveries.stop();
    });
    const blueprints = await createBlueprints({ store, queue, config, webhooks, log, blobs: blobStores(BLUEPRINT_AREA) });
    cleanups.push(() => blueprints.stop());

    const workers = new WorkersService({ repo: new WorkersRepository(store.db), runs: runsRepository });
    let worker: RunWorker | undefined;
    let takeJobs = async () => {};
    if (options.workers ?? config.runWorkers) {
      let presence: WorkerPresence | undefined;
      const running = new RunWorker({
        name: config.workers.name,
        onActiveChange: () => presence?.changed(),
        queue,
        execution,
        runs: runsRepository,
        engines,
        blobs,
        hub,
        log,
        ...(config.postprocess.enabled && {
          postProcessor: new PostProcessor({ blobs, execution, predictions: new PredictionsService(runs, blobs), options: config.postprocess }),
        }),
        options: {
          workRoot: join(config.dataDir, 'work'),
          concurrency: config.engineConcurrency,
          maxAttempts: config.maxAttempts,
          retry: { baseMs: config.retryBaseMs, maxMs: config.retryMaxMs },
          maxRunSeconds: config.maxRunSeconds,
          costPerHour: config.workerCostPerHour,
          ...(config.workerEngines && { engines: config.workerEngines }),
        },
      });
      worker = running;
      if (store.kind === 'pglite') {
        const recovered = await running.recoverInterrupted();
        if (recovered) log.warn({ runs: recovered }, 're-queued runs interrupted by a restart');
      }
      await running.removeStaleWork();
      let taking: Promise<void> | undefined;
      takeJobs = () => {
        taking ??= (async () => {
          await running.start({ onlyAvailable: store.kind === 'postgres' });
          presence = new WorkerPresence({
            workers,
            identity: { id: randomUUID(), name: config.workers.name, version: RECON_VERSION },
            heartbeatSeconds: config.workers.heartbeatSeconds,
            state: () => ({ engines: running.engines(), running: running.running() }),
            log,
          });
          await presence.start();
          await blueprints.startWorker();
        })();
        return taking;
      };
      cleanups.push(async () => {
        if (!taking) return;
        await taking.catch(() => {});
        await running.stop();
        await presence?.stop();
      });
    }

    const predictions = new PredictionsService(runs, blobs);
    const sessions = new SessionsService({
      repo: new SessionsRepository(store.db),
      runs,
      predictions,
      feed,
      blobs,
      engines,
      dataDir: config.dataDir,
      limits: config.sessions,
      log,
    });
    const sweeper = new SessionSweeper(sessions, config.sessions.sweepIntervalMs, log);
    await sessions.resume();
    sweeper.start();
    cleanups.push(async () => {
      await sweeper.stop();
      await sessions.stop();
    });
    const app = await buildApp(
      {
        config,
        runs,
        uploads: new ImageUploads({ runs, blobs }),
        workers,
        files: new RunFilesService({ runs, blobs, redirectDownloads: config.s3?.downloads === 'redirect' }),
        predictions,
        engines: new EngineCatalog(engines, pipelines),
        limits: new LimitsReport(config),
        storeKind: store.kind,
        sessions,
        keys,
        webhooks,
        batches,
        metrics,
        analytics: new AnalyticsService(analyticsRepository),
        blueprints: blueprints.blueprints,
        blueprintDesign: blueprints.design,
        blueprintRegions: blueprints.regions,
        generations: blueprints.generations,
        blueprintExports: blueprints.exports,
        falWebhooks: blueprints.falWebhooks,
      },
      log,
    );
    cleanups.push(() => app.close());
    const recon: Recon = {
      config,
      store,
      runs,
      engines,
      blobs,
      app,
      worker,
      url: undefined,
      async listen() {
        if (!isLoopbackHost(config.host) && !config.auth.insecureNoAuth && !(await keys.anyActive())) {
          await close();
          throw new ConfigError(
            `Refusing to serve on ${config.host} without API keys: create one first (recon keys create --admin), ` +
              'set RECON_API_KEYS, listen on 127.0.0.1, or pass --insecure-no-auth to run open.',
          );
        }
        const address = await app.listen({ host: config.host, port: config.port });
        recon.url = address.replace('[::1]', 'localhost');
        await takeJobs();
        return recon.url;
      },
      takeJobs,
      close,
    };
    return recon;
  } catch (error) {
    await close();
    throw error;
  }
}
