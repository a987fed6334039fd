import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ApiKeyService } from './auth/key-service.ts';
import { BatchesService } from './batches/batches-service.ts';
import { isLoopbackHost } from './auth/loopback.ts';
import { LocalBlobStore } from './blobs/local-blob-store.ts';
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
import { SessionsRepository } from './db/sessions-repository.ts';
import { WebhooksRepository } from './db/webhooks-repository.ts';
import { createEngineRegistry } from './engines/index.ts';
import type { EngineRegistry } from './engines/registry.ts';
import { buildApp } from './http/app.ts';
import { PostProcessor } from './postprocess/post-processor.ts';
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

export interface Recon {
  config: Config;
  store: Store;
  runs: RunsService;
  engines: EngineRegistry;
  app: FastifyInstance;
  worker: RunWorker | undefined;
  /** Where the HTTP server listens, once `listen()` ran. */
  url: string | undefined;
  listen(): Promise<string>;
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
    const queue = await RunQueue.start(store, (error) => log.error({ err: error }, 'queue error'));
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
    const blobs = new LocalBlobStore(join(config.dataDir, 'runs'));
    const engines = createEngineRegistry(config);
    cleanups.push(async () => {
      await Promise.all(engines.list().map((engine) => engine.close?.()));
    });
    options.engines?.(engines);
    await queue.prepare(engines.list().map((engine) => engine.id));
    const feed = new RunEventFeed({ events: runEvents, hub, runExists: async (id) => !!(await runsRepository.find(id)) });
    const runs = new RunsService({ runs: runsRepository, events: runEvents, blobs, queue, engines, limits: config.limits, hub, feed });
    const execution = new RunExecution({ runs: runsRepository, events: runEvents, blobs, service: runs });
    if (store.kind === 'pglite') {
      const removed = await runs.removeUncommittedImages();
      if (removed) log.warn({ files: removed }, 'removed image files of uploads cut short by a restart');
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

    let worker: RunWorker | undefined;
    if (options.workers ?? config.runWorkers) {
      worker = new RunWorker({
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
        },
      });
      if (store.kind === 'pglite') {
        const recovered = await worker.recoverInterrupted();
        if (recovered) log.warn({ runs: recovered }, 're-queued runs interrupted by a restart');
      }
      await worker.removeStaleWork();
      await worker.start({ onlyAvailable: store.kind === 'postgres' });
      const running = worker;
      cleanups.push(() => running.stop());
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
        files: new RunFilesService({ runs, blobs }),
        predictions,
        engines: new EngineCatalog(engines),
        limits: new LimitsReport(config),
        storeKind: store.kind,
        sessions,
        keys,
        webhooks,
        batches,
        metrics,
        analytics: new AnalyticsService(analyticsRepository),
      },
      log,
    );
    cleanups.push(() => app.close());
    const recon: Recon = {
      config,
      store,
      runs,
      engines,
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
        return recon.url;
      },
      close,
    };
    return recon;
  } catch (error) {
    await close();
    throw error;
  }
}
