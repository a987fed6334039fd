import { constants } from 'node:os';
import type { Logger } from 'pino';

/** Under `docker stop`'s default 10 s, so our own deadline fires before the SIGKILL does. */
export const SHUTDOWN_DEADLINE_MS = 8_000;

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
/**
 * Ctrl-C reaches both bin/recon.js and this process, and the wrapper forwards it too: a repeat
 * this soon after the first is that same keypress, not an impatient second one.
 */
const SAME_SIGNAL_MS = 1_000;

/**
 * Closes the server on SIGTERM, SIGINT or SIGHUP: it stops taking requests and jobs, and puts the
 * runs it holds back in the queue. Exits 0 once closed; 1 when closing outlives the deadline; a
 * second signal exits at once, with 128 + its number as a shell would report it.
 */
export function closeOnSignals(close: () => Promise<void>, log: Logger, deadlineMs = SHUTDOWN_DEADLINE_MS): void {
  let stoppingSince: number | undefined;
  const onSignal = (signal: (typeof SIGNALS)[number]) => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince < SAME_SIGNAL_MS) return;
      log.warn({ signal }, 'second signal: exiting without finishing the shutdown');
      process.exit(128 + constants.signals[signal]);
    }
    stoppingSince = Date.now();
    log.info({ signal, deadlineMs }, 'shutting down: no new requests or jobs; runs in progress go back to the queue');
    const deadline = setTimeout(() => {
      log.error({ deadlineMs }, 'shutdown did not finish in time; exiting anyway (the next start recovers the runs)');
      process.exit(1);
    }, deadlineMs);
    deadline.unref();
    close().then(
      () => {
        log.info('shut down cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
}
