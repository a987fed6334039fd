import { Worker } from 'node:worker_threads';
import type { Executor } from './executor.ts';
import type { KernelName } from './kernels.ts';
import type { PoolReply, PoolRequest } from './pool-worker.ts';
import type { Workspace } from './workspace.ts';

interface Thread {
  worker: Worker;
  pending: { resolve: () => void; reject: (error: Error) => void } | undefined;
}

/**
 * A fixed set of worker threads over one workspace's shared memory, created once. Each run
 * sends part i to thread i; a grown workspace is re-sent before the next run.
 */
export class WorkerPool implements Executor {
  readonly #workspace: Workspace;
  readonly #threads: Thread[] = [];
  #sentVersion = -1;
  #closed = false;

  constructor(workspace: Workspace) {
    this.#workspace = workspace;
  }

  get threads(): number {
    return this.#workspace.threads;
  }

  /** Starts the threads (separate from the constructor: no I/O there). */
  start(): this {
    for (let i = 0; i < this.#workspace.threads; i++) {
      const worker = new Worker(new URL('./pool-worker.ts', import.meta.url));
      const thread: Thread = { worker, pending: undefined };
      worker.on('message', (reply: PoolReply) => {
        const pending = thread.pending;
        thread.pending = undefined;
        if (!pending) return;
        if (reply.ok) pending.resolve();
        else pending.reject(new Error(`splat worker thread ${i}: ${reply.error}`));
      });
      worker.on('error', (error) => {
        thread.pending?.reject(error);
        thread.pending = undefined;
      });
      worker.on('exit', (code) => {
        if (!this.#closed) thread.pending?.reject(new Error(`splat worker thread ${i} exited with code ${code}`));
        thread.pending = undefined;
      });
      this.#threads.push(thread);
    }
    return this;
  }

  async run(kernel: KernelName): Promise<void> {
    if (this.#closed) throw new Error('the worker pool is closed');
    if (this.#sentVersion !== this.#workspace.version) {
      const workspace = this.#workspace.message();
      await this.#all(() => ({ type: 'buffers', workspace }));
      this.#sentVersion = workspace.version;
    }
    const parts = this.#threads.length;
    await this.#all((part) => ({ type: 'run', kernel, part, parts }));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#threads.map((t) => t.worker.terminate()));
    this.#threads.length = 0;
  }

  #all(request: (part: number) => PoolRequest): Promise<void> {
    return Promise.all(
      this.#threads.map(
        (thread, part) =>
          new Promise<void>((resolve, reject) => {
            thread.pending = { resolve, reject };
            thread.worker.postMessage(request(part));
          }),
      ),
    ).then(() => undefined);
  }
}
