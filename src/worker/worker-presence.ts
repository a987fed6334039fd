import type { Logger } from 'pino';
import { Periodic } from '../core/periodic.ts';
import type { WorkersService } from '../core/workers-service.ts';

export interface WorkerIdentity {
  /** Unique per process. */
  id: string;
  /** What people see: RECON_WORKER_NAME, or the host name. */
  name: string;
  version: string;
}

/** Keeps this worker's row alive (engines it takes, runs it holds) with a beat every `heartbeatSeconds`. */
export class WorkerPresence {
  readonly #workers: Pick<WorkersService, 'beat' | 'leave'>;
  readonly #identity: WorkerIdentity;
  readonly #heartbeatSeconds: number;
  readonly #state: () => { engines: string[]; running: string[] };
  readonly #log: Logger;
  readonly #beats: Periodic<void>;

  constructor(deps: {
    workers: Pick<WorkersService, 'beat' | 'leave'>;
    identity: WorkerIdentity;
    heartbeatSeconds: number;
    state: () => { engines: string[]; running: string[] };
    log: Logger;
  }) {
    this.#workers = deps.workers;
    this.#identity = deps.identity;
    this.#heartbeatSeconds = deps.heartbeatSeconds;
    this.#state = deps.state;
    this.#log = deps.log;
    this.#beats = new Periodic({
      task: () => this.#beat(),
      intervalMs: deps.heartbeatSeconds * 1000,
      onError: (error) => this.#log.warn({ err: error }, 'worker heartbeat failed'),
    });
  }

  async start(): Promise<void> {
    await this.#beats.runOnce();
    this.#beats.start();
  }

  /** The runs held changed: tell the others now rather than at the next beat. */
  changed(): void {
    void this.#beats.runOnce();
  }

  async stop(): Promise<void> {
    await this.#beats.stop();
    await this.#workers.leave(this.#identity.id).catch((error) => this.#log.warn({ err: error }, 'could not remove the worker row'));
  }

  #beat(): Promise<void> {
    return this.#workers.beat({ ...this.#identity, ...this.#state(), heartbeatSeconds: this.#heartbeatSeconds });
  }
}
