import { fromKysely, fromPglite, PgBoss } from 'pg-boss';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Store } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { type DueJobs, JobWaker } from './job-waker.ts';

export interface RunJob {
  runId: string;
  /** The run's job token when this job was sent; a job whose token is stale does nothing. */
  token: string;
}

export const runJobKey = (job: RunJob) => `${job.runId}/${job.token}`;

const NO_JOB = '00000000-0000-0000-0000-000000000000';
const queueName = (engineId: string) => `runs.${engineId}`;

/** A day: runs are bounded by their own time limits, never by pg-boss's expiry. */
const JOB_EXPIRY_SECONDS = 24 * 3600;
/**
 * Workers are woken (NOTIFY on send, the JobWaker for everything else), so pg-boss's own polling
 * is only a last resort: each worker polling every half second cost an idle server 6–10 % of a core.
 */
const WORKER_POLL_SECONDS = 300;
/** pg-boss chores Recon does not depend on (flows, the queue settings cache). */
const IDLE_CHORE_SECONDS = 300;
/** The longest a job that fell due without a wake-up (sent by another process for later) waits. */
const WAKER_BACKSTOP_MS = 5_000;

/** Jobs not yet taken, in pg-boss's own table (one query for any number of queues). */
const WAITING = sql`state in ('created', 'retry')`;

/** pg-boss's own clock (`job_now()`), so due times agree with the database's, not this machine's. */
function dueJobsIn(db: Kysely<Database>): DueJobs {
  return async (queues) => {
    const { rows } = await sql<{ name: string; in_ms: number }>`
      select name, (extract(epoch from min(start_after) - pgboss.job_now()) * 1000)::float8 as in_ms
      from pgboss.job where name in (${sql.join(queues)}) and ${WAITING}
      group by name`.execute(db);
    return new Map(rows.map((row) => [row.name, Number(row.in_ms)]));
  };
}

export interface RunQueueOptions {
  /** A job whose worker stops beating for this long (a process killed, a machine gone) is retried elsewhere. */
  heartbeatSeconds: number;
  /** How often expired and heartbeat-less jobs are looked for. */
  superviseSeconds: number;
}

/** pg-boss on the run store's database: one queue per engine. */
export class RunQueue {
  readonly #boss: PgBoss;
  readonly #options: RunQueueOptions;
  readonly #created = new Set<string>();
  readonly #working = new Set<string>();
  readonly #waker: JobWaker;
  readonly #db: Kysely<Database>;

  private constructor(boss: PgBoss, options: RunQueueOptions, db: Kysely<Database>, onError: (error: Error) => void) {
    this.#boss = boss;
    this.#options = options;
    this.#db = db;
    this.#waker = new JobWaker({ dueJobs: dueJobsIn(db), queues: () => [...this.#working], wake: (name) => this.#wake(name), onError }, WAKER_BACKSTOP_MS);
  }

  static async start(store: Store, onError: (error: Error) => void, options: RunQueueOptions): Promise<RunQueue> {
    // Neither cron schedules nor job dependencies are used: `schedule: false` and a long flow
    // interval spare their five-second polls.
    const common = {
      superviseIntervalSeconds: options.superviseSeconds,
      monitorIntervalSeconds: options.superviseSeconds,
      schedule: false,
      useListenNotify: true,
      flowIntervalSeconds: IDLE_CHORE_SECONDS,
      queueCacheIntervalSeconds: IDLE_CHORE_SECONDS,
    };
    const boss = store.pglite
      ? new PgBoss({ db: fromPglite(store.pglite), backend: 'pglite', ...common } as ConstructorParameters<typeof PgBoss>[0])
      : new PgBoss({ connectionString: store.connectionString, max: 5, ...common });
    boss.on('error', onError);
    await boss.start();
    return new RunQueue(boss, options, store.db, onError);
  }

  /** Every idle worker of the queue in this process fetches now. */
  #wake(name: string): void {
    for (const worker of this.#boss.getWipData({ includeInternal: false })) {
      if (worker.name === name) this.#boss.notifyWorker(worker.id);
    }
  }

  /**
   * Creates the engines' queues, once at start-up and never lazily: a job is sent inside a run's
   * transaction, and on PGlite a pg-boss statement outside that transaction would wait for it
   * to finish — forever.
   */
  async prepare(engineIds: string[]): Promise<void> {
    await this.#prepareAll(engineIds.map(queueName));
  }

  /** Creates a queue of named jobs other than runs (e.g. `blueprints.fal`), at start-up like the engines'. */
  async prepareNamed(name: string): Promise<void> {
    await this.#prepareAll([name]);
  }

  async #prepareAll(names: string[]): Promise<void> {
    // Retries here only cover a worker process that vanished mid-job (missed heartbeats); engine
    // failures are retried by the worker itself, as new jobs, so they show in the run's events.
    // notify: a send wakes the queue's workers (in every process) when its transaction commits.
    const options = { retryLimit: 3, retryDelay: 5, heartbeatSeconds: this.#options.heartbeatSeconds, expireInSeconds: JOB_EXPIRY_SECONDS, notify: true };
    const existing = new Map((await this.#boss.getQueues(names)).map((queue) => [queue.name, queue]));
    for (const name of names) {
      const queue = existing.get(name);
      // A restart finds its queues as it left them: nothing to write, and pg-boss cached them when it started.
      const unchanged = queue && Object.entries(options).every(([key, value]) => queue[key as keyof typeof queue] === value);
      if (!unchanged) {
        await this.#boss.createQueue(name, options);
        // createQueue leaves an existing queue as it was: a changed heartbeat takes effect here.
        await this.#boss.updateQueue(name, options);
        // send() looks the queue up in pg-boss's cache, and on a miss queries the database on its
        // own connection — which, inside a run's transaction on PGlite, never comes. A lookup now
        // fills that cache.
        await this.#boss.getJobById(name, NO_JOB);
      }
      this.#created.add(name);
    }
  }

  private assertPrepared(name: string): string {
    if (!this.#created.has(name)) throw new Error(`No queue "${name}": RunQueue.prepare() or prepareNamed() was not given it`);
    return name;
  }

  /** Every run job still waiting in a queue (not yet taken), as `runId/token`. */
  async waitingJobs(): Promise<Set<string>> {
    const names = [...this.#created].filter((name) => name.startsWith(queueName('')));
    if (!names.length) return new Set();
    const { rows } = await sql<{ data: RunJob }>`select data from pgboss.job where name in (${sql.join(names)}) and ${WAITING}`.execute(this.#db);
    return new Set(rows.map((row) => runJobKey(row.data)));
  }

  /** Sends a job; inside `trx` when given, so the job exists exactly when the run says it does. */
  async enqueue(engineId: string, job: RunJob, options: { delayMs?: number; trx?: Transaction<Database> } = {}) {
    await this.send(queueName(engineId), job, options);
  }

  /** Sends a named job; inside `trx` when given, so it exists exactly when its row says it does. */
  async send(name: string, data: object, options: { delayMs?: number; trx?: Transaction<Database> } = {}) {
    await this.#boss.send(this.assertPrepared(name), data, {
      ...(options.delayMs ? { startAfter: new Date(Date.now() + options.delayMs) } : {}),
      ...(options.trx ? { db: fromKysely(options.trx) } : {}),
    });
    if (options.delayMs) this.#waker.checkIn(options.delayMs);
  }

  async work(engineId: string, concurrency: number, handler: (job: RunJob) => Promise<void>): Promise<void> {
    await this.workNamed(queueName(engineId), concurrency, handler);
  }

  /** Runs `handler` for each job of the named queue, at most `concurrency` at once in this process. */
  async workNamed<T extends object>(name: string, concurrency: number, handler: (job: T) => Promise<void>): Promise<void> {
    const polling = { pollingIntervalSeconds: WORKER_POLL_SECONDS, notifyPollingIntervalSeconds: WORKER_POLL_SECONDS };
    await this.#boss.work<T>(this.assertPrepared(name), { localConcurrency: concurrency, ...polling }, async ([job]) => {
      try {
        if (job) await handler(job.data);
      } finally {
        // pg-boss would otherwise sleep until the next poll before taking the job waiting behind this one.
        this.#waker.checkNow();
      }
    });
    this.#working.add(name);
    // Jobs already waiting (a restart, a backlog) are taken by the workers' first fetch; those
    // due later are found here.
    this.#waker.checkNow();
  }

  /** Stops fetching new jobs for these engines (jobs in hand carry on). */
  async stopWorking(engineIds: string[]): Promise<void> {
    await this.stopNamed(engineIds.map(queueName));
  }

  async stopNamed(names: string[]): Promise<void> {
    for (const name of names) this.#working.delete(name);
    await Promise.all(names.map((name) => this.#boss.offWork(this.assertPrepared(name), { wait: false })));
  }

  async stop(): Promise<void> {
    this.#waker.stop();
    await this.#boss.stop({ graceful: false, close: true, timeout: 2000 });
  }
}
