import { type ChildProcess, spawn } from 'node:child_process';
import { EngineError } from '../engine.ts';
import { pythonMissingError, workerError } from './errors.ts';
import { type ErrorMessage, parseWorkerLine, type ReadyMessage, type ResultMessage, type RunRequest } from './protocol.ts';
import { forwardLines } from '../line-stream.ts';

export interface VggtWorkerOptions {
  python: string;
  script: string;
  weights: string;
  allowCpu: boolean;
  /** The worker's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  loadTimeoutMs: number;
  /** Output that arrives while no run is active. */
  onIdleLine?: (line: string) => void;
}

export type WorkerEvent =
  | { type: 'waiting' }
  | { type: 'starting'; command: string }
  | { type: 'ready'; ready: ReadyMessage }
  | { type: 'warm'; ready: ReadyMessage; runsServed: number; upSeconds: number }
  | { type: 'progress'; stage: string; fraction: number; message: string | undefined }
  | { type: 'log'; line: string };

export interface WorkerRunOptions {
  signal: AbortSignal;
  timeoutMs: number;
  onEvent(event: WorkerEvent): void;
}

interface Live {
  child: ChildProcess;
  ready: Promise<ReadyMessage>;
  readyInfo: ReadyMessage | undefined;
  exited: boolean;
  fatal: ErrorMessage | undefined;
  stderrTail: string[];
  runsServed: number;
  startedAt: number;
}

interface ActiveRequest {
  id: string;
  images: number;
  onEvent: (event: WorkerEvent) => void;
  resolve: (result: ResultMessage) => void;
  reject: (error: unknown) => void;
}

const TAIL_LINES = 30;

/**
 * One persistent worker.py: started on first use, kept warm between runs, restarted after it
 * dies. Runs are served one at a time (the GPU holds one model); a run that is canceled or times
 * out kills the worker, and the next run starts a fresh one.
 */
export class VggtWorker {
  readonly #options: VggtWorkerOptions;
  #live: Live | undefined;
  #tail: Promise<void> = Promise.resolve();
  #busy = false;
  #active: ActiveRequest | undefined;
  #sequence = 0;

  constructor(options: VggtWorkerOptions) {
    this.#options = options;
  }

  /** Whether a worker process is up with its model loaded. */
  get warm(): boolean {
    return this.#live !== undefined && !this.#live.exited && this.#live.readyInfo !== undefined;
  }

  get pid(): number | undefined {
    return this.#live?.exited ? undefined : this.#live?.child.pid;
  }

  async run(images: string[], out: string, options: WorkerRunOptions): Promise<ResultMessage> {
    const previous = this.#tail;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.#tail = previous.then(() => mine);
    if (this.#busy) options.onEvent({ type: 'waiting' });
    try {
      await abortable(previous, options.signal);
      this.#busy = true;
      return await this.#runNow(images, out, options);
    } finally {
      this.#busy = false;
      release();
    }
  }

  /** Stops the worker process (a later run starts a new one). */
  async close(): Promise<void> {
    const live = this.#live;
    this.#live = undefined;
    if (!live || live.exited) return;
    const exited = new Promise<void>((resolve) => live.child.once('exit', () => resolve()));
    live.child.kill('SIGTERM');
    const timer = setTimeout(() => live.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  async #runNow(images: string[], out: string, options: WorkerRunOptions): Promise<ResultMessage> {
    const { signal, onEvent } = options;
    signal.throwIfAborted();
    let live = this.#live;
    const fresh = !live || live.exited;
    if (!live || live.exited) {
      live = this.#start();
      onEvent({ type: 'starting', command: `${this.#options.python} ${this.#options.script}` });
    }
    const ready = await this.#awaitReady(live, signal);
    if (fresh) onEvent({ type: 'ready', ready });
    else onEvent({ type: 'warm', ready, runsServed: live.runsServed, upSeconds: (Date.now() - live.startedAt) / 1000 });

    const id = `r${++this.#sequence}`;
    const request: RunRequest = { type: 'run', id, images, out };
    const current = live;
    return new Promise<ResultMessage>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (this.#active?.id === id) this.#active = undefined;
      };
      const onAbort = (): void => {
        finish();
        this.#kill(current);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        finish();
        this.#kill(current);
        const seconds = Math.round(options.timeoutMs / 1000);
        reject(
          new EngineError(`The VGGT worker did not finish ${images.length} images within ${seconds} s; it was stopped and will be restarted`, {
            hint: 'Use fewer or smaller images, or raise VGGT_WORKER_TIMEOUT_SECONDS',
          }),
        );
      }, options.timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#active = {
        id,
        images: images.length,
        onEvent,
        resolve: (result) => {
          finish();
          current.runsServed++;
          resolve(result);
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      };
      current.child.stdin?.write(`${JSON.stringify(request)}\n`);
    });
  }

  #start(): Live {
    const { python, script, weights, allowCpu } = this.#options;
    const args = [script, '--weights', weights, ...(allowCpu ? ['--allow-cpu'] : [])];
    const child = spawn(python, args, { env: this.#options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let settleReady!: { resolve: (ready: ReadyMessage) => void; reject: (error: unknown) => void };
    const ready = new Promise<ReadyMessage>((resolve, reject) => (settleReady = { resolve, reject }));
    ready.catch(() => {});
    const live: Live = { child, ready, readyInfo: undefined, exited: false, fatal: undefined, stderrTail: [], runsServed: 0, startedAt: Date.now() };
    this.#live = live;

    const log = (line: string): void => {
      if (this.#live === live && this.#active) this.#active.onEvent({ type: 'log', line });
      else this.#options.onIdleLine?.(line);
    };
    forwardLines(child.stdout!, (line) => {
      const message = parseWorkerLine(line);
      if (!message) return log(line);
      switch (message.type) {
        case 'ready':
          live.readyInfo = message;
          settleReady.resolve(message);
          return;
        case 'loading':
          return log(`Loading VGGT weights ${message.weights} on ${message.device}`);
        case 'progress':
          if (this.#active?.id === message.id) {
            this.#active.onEvent({ type: 'progress', stage: message.stage, fraction: message.fraction, message: message.message ?? undefined });
          }
          return;
        case 'result':
          if (this.#active?.id === message.id) this.#active.resolve(message);
          return;
        case 'error':
          if (message.fatal) live.fatal = message;
          else if (this.#active && (message.id === undefined || message.id === this.#active.id)) {
            this.#active.reject(workerError(message, { images: this.#active.images }));
          } else log(`worker error: ${message.message}`);
          return;
        default:
          return log(line);
      }
    });
    forwardLines(child.stderr!, (line) => {
      live.stderrTail.push(line);
      if (live.stderrTail.length > TAIL_LINES) live.stderrTail.shift();
      log(line);
    });
    // A worker that dies mid-write must not crash Recon with EPIPE.
    child.stdin?.on('error', () => {});

    const onGone = (error: unknown): void => {
      if (live.exited) return;
      live.exited = true;
      if (this.#live === live) this.#live = undefined;
      settleReady.reject(error);
      if (this.#active) this.#active.reject(error);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      onGone(error.code === 'ENOENT' ? pythonMissingError(python, error) : new EngineError(`The VGGT worker could not be started: ${error.message}`, { cause: error }));
    });
    // 'close' comes after stdout drained, so a fatal error line is already recorded.
    child.once('close', (code, exitSignal) => onGone(this.#exitError(live, code, exitSignal)));
    // An idle worker must not keep Recon's process alive; pending runs hold timers that do.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
    return live;
  }

  #exitError(live: Live, code: number | null, signal: NodeJS.Signals | null): EngineError {
    if (live.fatal) return workerError(live.fatal, { images: this.#active?.images ?? 0 });
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const tail = live.stderrTail.slice(-5).join('\n');
    if (!live.readyInfo) {
      return new EngineError(`The VGGT worker ${how} while loading the model${tail ? `:\n${tail}` : ''}`, {
        hint: 'Run the worker by hand to see why: VGGT_PYTHON src/engines/vggt-local/worker.py --check',
      });
    }
    // Mid-run deaths (a driver reset, the OOM killer) are often one-offs: retry on a fresh worker.
    return new EngineError(`The VGGT worker ${how} during the run; it will be restarted${tail ? `:\n${tail}` : ''}`, { transient: true });
  }

  async #awaitReady(live: Live, signal: AbortSignal): Promise<ReadyMessage> {
    if (live.readyInfo) return live.readyInfo;
    const seconds = Math.round(this.#options.loadTimeoutMs / 1000);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EngineError(`The VGGT worker did not load the model within ${seconds} s`, { hint: 'Raise VGGT_LOAD_TIMEOUT_SECONDS (the first load from the Hugging Face hub downloads about 5 GB)' })),
        this.#options.loadTimeoutMs,
      );
    });
    try {
      return await abortable(Promise.race([live.ready, timeout]), signal);
    } catch (error) {
      this.#kill(live);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  #kill(live: Live): void {
    if (this.#live === live) this.#live = undefined;
    if (!live.exited) live.child.kill('SIGKILL');
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
