import pino, { type Logger } from 'pino';

/** JSON lines to stdout (pino); `RECON_LOG_LEVEL` picks the level. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { app: 'recon' }, timestamp: pino.stdTimeFunctions.isoTime });
}
