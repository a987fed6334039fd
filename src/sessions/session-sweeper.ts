import type { Logger } from 'pino';
import type { SessionsService } from './sessions-service.ts';

/** Every `intervalMs`, removes sessions (rows and files) idle longer than the timeout. */
export class SessionSweeper {
  readonly #sessions: SessionsService;
  readonly #intervalMs: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(sessions: SessionsService, intervalMs: number, log: Logger) {
    this.#sessions = sessions;
    this.#intervalMs = intervalMs;
    this.#log = log;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.sweepOnce(), this.#intervalMs);
    this.#timer.unref();
  }

  /** One pass; overlapping passes are skipped. */
  async sweepOnce(): Promise<string[]> {
    if (this.#running) return [];
    const pass = this.#sessions.sweep().catch((error) => {
      this.#log.warn({ err: error }, 'session sweep failed');
      return [] as string[];
    });
    this.#running = pass;
    try {
      const removed = await pass;
      if (removed.length) this.#log.info({ sessions: removed }, 'removed idle sessions');
      return removed;
    } finally {
      this.#running = undefined;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
