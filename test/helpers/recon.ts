import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { type Recon, startRecon } from '../../src/recon.ts';
import { createDatabase, startPostgres, type TestPostgres } from './postgres.ts';
import { startS3, type TestS3 } from './s3.ts';

export type StoreMode = 'pglite' | 'postgres';
/** Store and API tests run against both stores; RECON_TEST_STORES=pglite narrows it. */
export const STORE_MODES: StoreMode[] = (process.env.RECON_TEST_STORES?.split(',') as StoreMode[] | undefined) ?? ['pglite', 'postgres'];

export type BlobMode = 'local' | 's3';
/** Where run files go: the data folder, or S3 (s3rver); RECON_TEST_BLOBS=local narrows the tests that run both. */
export const BLOB_MODES: BlobMode[] = (process.env.RECON_TEST_BLOBS?.split(',') as BlobMode[] | undefined) ?? ['local', 's3'];

/** For tests of file handling: every store on local disk, and the first store on S3 (a third run, not a fourth). */
export const FILE_SETUPS: { store: StoreMode; blobs: BlobMode; label: string }[] = [
  ...(BLOB_MODES.includes('local') ? STORE_MODES.map((store) => ({ store, blobs: 'local' as const, label: store })) : []),
  ...(BLOB_MODES.includes('s3') ? [{ store: STORE_MODES[0] ?? 'pglite', blobs: 's3' as const, label: `${STORE_MODES[0] ?? 'pglite'}, S3` }] : []),
];

let postgres: Promise<TestPostgres> | undefined;
let databases = 0;
let s3: Promise<TestS3> | undefined;
let prefixes = 0;

/** One s3rver per test process (each server gets a prefix of its own), stopped when the process ends. */
export function sharedS3(): Promise<TestS3> {
  s3 ??= startS3().then((server) => {
    process.once('beforeExit', () => void server.stop());
    return server;
  });
  return s3;
}

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
  /** What the blob store holds in its staging area (uploads under way, or left by a failure). */
  staged(): Promise<string[]>;
  close(): Promise<void>;
}

export async function startTestServer(
  mode: StoreMode,
  env: Record<string, string> = {},
  options: { dataDir?: string; databaseUrl?: string; blobs?: BlobMode } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'recon-test-')));
  const bucket = options.blobs === 's3' ? { s3: await sharedS3(), prefix: `t${process.pid}-${prefixes++}/` } : undefined;
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
    ...(bucket && { ...bucket.s3.env, S3_PREFIX: bucket.prefix }),
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
    async staged() {
      if (bucket) return bucket.s3.keys(`${bucket.prefix}staging/`);
      const entries = await readdir(join(dataDir, 'tmp'), { recursive: true, withFileTypes: true }).catch(() => []);
      return entries.filter((e) => e.isFile()).map((e) => e.name);
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
