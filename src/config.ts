import { resolve } from 'node:path';
import { z } from 'zod';

const bool = z
  .union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'yes', 'no', ''])])
  .transform((v) => v === true || v === '1' || v === 'true' || v === 'yes');
const int = (min: number) => z.coerce.number().int().min(min);

/** Every setting, read once from the environment (and CLI flags mapped onto the same names). */
export const configSchema = z.object({
  RECON_DATA_DIR: z.string().default('./data'),
  HOST: z.string().default('127.0.0.1'),
  PORT: int(0).max(65535).default(3000),
  DATABASE_URL: z.string().url().optional(),
  RECON_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  RECON_TEST_ENGINES: bool.default(false),
  /** Runs processed at once per engine, per process. */
  RECON_ENGINE_CONCURRENCY: int(1).default(2),
  /** Attempts per run when an engine reports a transient failure. */
  RECON_MAX_ATTEMPTS: int(1).default(4),
  RECON_RETRY_BASE_MS: int(1).default(2000),
  RECON_RETRY_MAX_MS: int(1).default(120_000),
  RECON_WORKERS: bool.default(true),
  RECON_MAX_RUN_SECONDS: int(1).default(6 * 3600),
  MAX_IMAGES: int(1).default(500),
  MAX_FILE_BYTES: int(1).default(100 * 1024 * 1024),
  MAX_RUN_BYTES: int(1).default(4 * 1024 * 1024 * 1024),
});

export interface Config {
  dataDir: string;
  host: string;
  port: number;
  databaseUrl: string | undefined;
  logLevel: z.infer<typeof configSchema>['RECON_LOG_LEVEL'];
  testEngines: boolean;
  engineConcurrency: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  runWorkers: boolean;
  maxRunSeconds: number;
  limits: { maxImages: number; maxFileBytes: number; maxRunBytes: number };
}

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid configuration — ${problems}`);
  }
  const c = parsed.data;
  return {
    dataDir: resolve(c.RECON_DATA_DIR),
    host: c.HOST,
    port: c.PORT,
    databaseUrl: c.DATABASE_URL,
    logLevel: c.RECON_LOG_LEVEL,
    testEngines: c.RECON_TEST_ENGINES,
    engineConcurrency: c.RECON_ENGINE_CONCURRENCY,
    maxAttempts: c.RECON_MAX_ATTEMPTS,
    retryBaseMs: c.RECON_RETRY_BASE_MS,
    retryMaxMs: c.RECON_RETRY_MAX_MS,
    runWorkers: c.RECON_WORKERS,
    maxRunSeconds: c.RECON_MAX_RUN_SECONDS,
    limits: { maxImages: c.MAX_IMAGES, maxFileBytes: c.MAX_FILE_BYTES, maxRunBytes: c.MAX_RUN_BYTES },
  };
}
