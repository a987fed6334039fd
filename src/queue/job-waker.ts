/** When the queues' waiting jobs are due, in milliseconds from now (≤ 0: due already), per queue. */
export type DueJobs = (queues: string[]) => Promise<Map<string, number>>;

export interface JobWakerDeps {
  dueJobs: DueJobs;
  /** The queues this process works. */
  queues(): string[];
  /** Makes the queue's idle workers in this process fetch now. */
  wake(queue: string): void;
  onError(error: Error): void;
}

/**
 * Wakes this process's workers when a job becomes theirs to take, so that none of them polls.
 * pg-boss's transactional NOTIFY covers a job sent for now. This covers the rest: jobs sent for
 * later (retry back-off), jobs pg-boss's supervisor puts back after a worker vanished, the backlog
 * still waiting when a job ends, and a notification that never arrived. One query looks at every
 * queue at once, when the earliest waiting job falls due and at least every `backstopMs`.
 */
export class JobWaker {
  readonly #deps: JobWakerDeps;
  readonly #backstopMs: number;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #checking = false;
  #checkAgain = false;
  #stopped = false;

  constructor(deps: JobWakerDeps, backstopMs: number) {
    this.#deps = deps;
    this.#backstopMs = backstopMs;
  }

  /** Looks for due jobs now (a job ended, a process started), then on the waker's own schedule. */
  checkNow(): void {
    if (this.#stopped) return;
    if (this.#checking) {
      this.#checkAgain = true;
      return;
    }
    this.#clearTimer();
    this.#checking = true;
    void this.#check().finally(() => {
      this.#checking = false;
      if (this.#checkAgain) {
        this.#checkAgain = false;
        this.checkNow();
      }
    });
  }

  /** A job was sent to start `delayMs` from now: look again then (or sooner, if already planned). */
  checkIn(delayMs: number): void {
    if (this.#stopped) return;
    const at = Date.now() + Math.max(0, delayMs);
    if (at >= this.#timerAt) return;
    this.#clearTimer();
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.checkNow(), at - Date.now());
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    this.#clearTimer();
  }

  async #check(): Promise<void> {
    let nextMs = this.#backstopMs;
    try {
      const queues = this.#deps.queues();
      const due = queues.length ? await this.#deps.dueJobs(queues) : new Map<string, number>();
      for (const [queue, inMs] of due) {
        if (inMs <= 0) this.#deps.wake(queue);
        else nextMs = Math.min(nextMs, inMs);
      }
    } catch (error) {
      this.#deps.onError(error as Error);
    }
    this.checkIn(nextMs);
  }

  #clearTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }
}
