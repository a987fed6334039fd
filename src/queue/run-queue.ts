import { fromKysely, fromPglite, PgBoss } from 'pg-boss';
import type { Transaction } from 'kysely';
import type { Store } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

export interface RunJob {
  runId: string;
  /** The run's job token when this job was sent; a job whose token is stale does nothing. */
  token: string;
}

const NO_JOB = '00000000-0000-0000-0000-000000000000';
const queueName = (engineId: string) => `runs.${engineId}`;

/** A day: runs are bounded by their own time limits, never by pg-boss's expiry. */
const JOB_EXPIRY_SECONDS = 24 * 3600;

/** pg-boss on the run store's database: one queue per engine. */
export class RunQueue {
  readonly #boss: PgBoss;
  readonly #created = new Set<string>();

  private constructor(boss: PgBoss) {
    this.#boss = boss;
  }

  static async start(store: Store, onError: (error: Error) => void): Promise<RunQueue> {
    const boss = store.pglite
      ? new PgBoss({ db: fromPglite(store.pglite), backend: 'pglite' } as ConstructorParameters<typeof PgBoss>[0])
      : new PgBoss({ connectionString: store.connectionString, max: 5 });
    boss.on('error', onError);
    await boss.start();
    return new RunQueue(boss);
  }

  /**
   * Creates the engines' queues, once at start-up and never lazily: a job is sent inside a run's
   * transaction, and on PGlite a pg-boss statement outside that transaction would wait for it
   * to finish — forever.
   */
  async prepare(engineIds: string[]): Promise<void> {
    for (const engineId of engineIds) {
      const name = queueName(engineId);
      // Retries here only cover a worker process that vanished mid-job (missed heartbeats); engine
      // failures are retried by the worker itself, as new jobs, so they show in the run's events.
      await this.#boss.createQueue(name, {
        retryLimit: 3,
        retryDelay: 5,
        heartbeatSeconds: 30,
        expireInSeconds: JOB_EXPIRY_SECONDS,
      });
      // send() looks the queue up in pg-boss's cache, and on a miss queries the database on its
      // own connection — which, inside a run's transaction on PGlite, never comes. A lookup now
      // fills that cache.
      await this.#boss.getJobById(name, NO_JOB);
      this.#created.add(name);
    }
  }

  private assertPrepared(engineId: string): string {
    const name = queueName(engineId);
    if (!this.#created.has(name)) throw new Error(`No queue for engine "${engineId}": RunQueue.prepare() was not given it`);
    return name;
  }

  /** Sends a job; inside `trx` when given, so the job exists exactly when the run says it does. */
  async enqueue(engineId: string, job: RunJob, options: { delayMs?: number; trx?: Transaction<Database> } = {}) {
    await this.#boss.send(this.assertPrepared(engineId), job, {
      ...(options.delayMs ? { startAfter: new Date(Date.now() + options.delayMs) } : {}),
      ...(options.trx ? { db: fromKysely(options.trx) } : {}),
    });
  }

  async work(engineId: string, concurrency: number, handler: (job: RunJob) => Promise<void>): Promise<void> {
    await this.#boss.work<RunJob>(
      this.assertPrepared(engineId),
      { localConcurrency: concurrency, pollingIntervalSeconds: 0.5 },
      async ([job]) => {
        if (job) await handler(job.data);
      },
    );
  }

  /** Stops fetching new jobs for these engines (jobs in hand carry on). */
  async stopWorking(engineIds: string[]): Promise<void> {
    await Promise.all(engineIds.map((id) => this.#boss.offWork(this.assertPrepared(id), { wait: false })));
  }

  async stop(): Promise<void> {
    await this.#boss.stop({ graceful: false, close: true, timeout: 2000 });
  }
}
