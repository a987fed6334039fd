import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { LocalBlobStore } from './blobs/local-blob-store.ts';
import type { Config } from './config.ts';
import { RunEventHub } from './core/run-event-hub.ts';
import { PredictionsService } from './core/predictions-service.ts';
import { RunExecution } from './core/run-execution.ts';
import { RunsService } from './core/runs-service.ts';
import { openStore, type Store } from './db/database.ts';
import { RunEventsRepository } from './db/run-events-repository.ts';
import { RunsRepository } from './db/runs-repository.ts';
import { createEngineRegistry } from './engines/index.ts';
import type { EngineRegistry } from './engines/registry.ts';
import { buildApp } from './http/app.ts';
import { RunQueue } from './queue/run-queue.ts';
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
    const runsRepository = new RunsRepository(store.db);
    const runEvents = new RunEventsRepository(store.db);
    const blobs = new LocalBlobStore(join(config.dataDir, 'runs'));
    const engines = createEngineRegistry(config);
    options.engines?.(engines);
    await queue.prepare(engines.list().map((engine) => engine.id));
    const runs = new RunsService({ runs: runsRepository, events: runEvents, blobs, queue, engines, limits: config.limits });
    const execution = new RunExecution({ runs: runsRepository, events: runEvents, blobs, service: runs });

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
      await worker.start();
      const running = worker;
      cleanups.push(() => running.stop());
    }

    const app = await buildApp(
      { config, runs, predictions: new PredictionsService(runs, blobs), runEvents, hub, blobs, engines, storeKind: store.kind },
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
