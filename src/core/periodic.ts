/** Runs `task` every `intervalMs` (and on demand), never two passes at once; a failed pass goes to `onError`. */
export class Periodic<T> {
  readonly #task: () => Promise<T>;
  readonly #intervalMs: number;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<T | undefined> | undefined;

  constructor(deps: { task: () => Promise<T>; intervalMs: number; onError: (error: unknown) => void }) {
    this.#task = deps.task;
    this.#intervalMs = deps.intervalMs;
    this.#onError = deps.onError;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.runOnce(), this.#intervalMs);
    this.#timer.unref();
  }

  /** One pass now; while one is under way, that one's result. */
  runOnce(): Promise<T | undefined> {
    this.#running ??= this.#task()
      .catch((error) => {
        this.#onError(error);
        return undefined;
      })
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  /** No more passes; waits for one under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
