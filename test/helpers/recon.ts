import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { type Recon, startRecon } from '../../src/recon.ts';
import { createDatabase, startPostgres, type TestPostgres } from './postgres.ts';

export type StoreMode = 'pglite' | 'postgres';
/** Store and API tests run against both stores; RECON_TEST_STORES=pglite narrows it. */
export const STORE_MODES: StoreMode[] = (process.env.RECON_TEST_STORES?.split(',') as StoreMode[] | undefined) ?? ['pglite', 'postgres'];

let postgres: Promise<TestPostgres> | undefined;
let databases = 0;

/** One cluster per test process, stopped when the process ends. */
function sharedPostgres(): Promise<TestPostgres> {
  postgres ??= startPostgres().then((pg) => {
    process.once('beforeExit', () => void pg.stop());
    return pg;
  });
  return postgres;
}

export interface TestServer {
  recon: Recon;
  url: string;
  dataDir: string;
  /** fetch against the server, relative paths allowed. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  json<T = any>(path: string, init?: RequestInit): Promise<{ status: number; body: T; headers: Headers }>;
  close(): Promise<void>;
}

export async function startTestServer(
  mode: StoreMode,
  env: Record<string, string> = {},
  options: { dataDir?: string; databaseUrl?: string } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'recon-test-')));
  let databaseUrl = options.databaseUrl;
  if (mode === 'postgres' && !databaseUrl) {
    databaseUrl = await createDatabase((await sharedPostgres()).url, `recon_test_${process.pid}_${databases++}`);
  }
  const config = loadConfig({
    RECON_DATA_DIR: dataDir,
    PORT: '0',
    RECON_TEST_ENGINES: '1',
    RECON_RETRY_BASE_MS: '50',
    RECON_RETRY_MAX_MS: '200',
    ...(databaseUrl && { DATABASE_URL: databaseUrl }),
    ...env,
  });
  const recon = await startRecon(config, { log: pino({ level: process.env.RECON_TEST_LOG ?? 'silent' }) });
  const url = await recon.listen();
  const fetchAt = (path: string, init?: RequestInit) => fetch(new URL(path, url), init);
  return {
    recon,
    url,
    dataDir,
    fetch: fetchAt,
    async json(path, init) {
      const response = await fetchAt(path, init);
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
    },
    async close() {
      await recon.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const jsonBody = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
