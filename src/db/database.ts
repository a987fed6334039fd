import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { getConstructionPlans } from 'pg-boss';
import { lockDataDir } from './data-dir-lock.ts';
import { migrations } from './migrations/index.ts';
import { copyStoreTemplate, forgetStoreTemplate, saveStoreTemplate } from './pglite-template.ts';
import type { Database } from './schema.ts';
import { SerializedPGliteDialect } from './serialized-pglite-dialect.ts';

const INT8_OID = 20;

/** The store: a typed query builder, LISTEN/NOTIFY, and what pg-boss needs to share it. */
export interface Store {
  db: Kysely<Database>;
  kind: 'pglite' | 'postgres';
  /** Subscribes to a NOTIFY channel; returns the unsubscribe function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  /** For pg-boss: the embedded instance, or the connection string. */
  pglite?: PGlite;
  connectionString?: string;
  close(): Promise<void>;
}

const MIGRATION_TABLE = 'recon_migrations';

/**
 * Whether every migration has been applied already: two small queries, where the Migrator's own
 * check introspects the whole catalogue first (a quarter of a second on PGlite, at every start).
 */
async function migrated(db: Kysely<Database>): Promise<boolean> {
  const { rows: table } = await sql<{ found: boolean }>`select to_regclass(${MIGRATION_TABLE}) is not null as found`.execute(db);
  if (!table[0]?.found) return false;
  const { rows } = await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(db);
  const wanted = Object.keys(await migrations.getMigrations()).sort();
  return rows.length === wanted.length && rows.every((row, index) => row.name === wanted[index]);
}

async function migrate(db: Kysely<Database>) {
  if (await migrated(db)) return;
  const migrator = new Migrator({ db, provider: migrations, migrationTableName: MIGRATION_TABLE });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
}

export async function openStore(options: { dataDir: string; databaseUrl?: string | undefined }): Promise<Store> {
  return options.databaseUrl ? openPostgres(options.databaseUrl) : openEmbedded(options.dataDir);
}

/**
 * A new embedded store: a copy of this install's template when it has one (see
 * pglite-template.ts), else initdb and the migrations, closed and kept as the template. Either way
 * the store is then opened afresh: initdb leaves the WASM memory at its peak (~600 MiB) for the
 * life of the instance, a reopen starts from what an existing store needs.
 */
async function createEmbedded(folder: string, options: PGliteOptions): Promise<PGlite> {
  if (await copyStoreTemplate(folder).catch(() => false)) {
    try {
      return await PGlite.create(folder, options);
    } catch {
      // A template that does not open costs only the time it was to save: it goes, initdb runs.
      await forgetStoreTemplate();
      await rm(folder, { recursive: true, force: true });
    }
  }
  const pglite = await PGlite.create(folder, options);
  const initialised = new Kysely<Database>({ dialect: new SerializedPGliteDialect({ pglite }) });
  await migrate(initialised);
  // pg-boss's tables too (it installs them at its first start when they are missing): they are
  // as much of a new store's start as our own.
  await pglite.exec(getConstructionPlans());
  await initialised.destroy();
  await saveStoreTemplate(folder).catch(() => {});
  return PGlite.create(folder, options);
}

async function openEmbedded(dataDir: string): Promise<Store> {
  const unlock = await lockDataDir(dataDir);
  const fresh = !existsSync(join(dataDir, 'db', 'PG_VERSION'));
  try {
    const folder = join(dataDir, 'db');
    const options = {
      parsers: { [INT8_OID]: (value: string) => Number(value) },
      // Postgres's default 128 MB of shared buffers live in PGlite's WASM memory, which never
      // shrinks; Recon's tables are small and the OS caches the files beneath anyway.
      // Measured: idle RSS of a reopened store 377 → 255 MiB.
      startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'],
    };
    const pglite = fresh ? await createEmbedded(folder, options) : await PGlite.create(folder, options);
    const db = new Kysely<Database>({ dialect: new SerializedPGliteDialect({ pglite }) });
    await migrate(db);
    return {
      db,
      kind: 'pglite',
      pglite,
      listen: (channel, onPayload) => pglite.listen(channel, onPayload),
      async close() {
        await db.destroy();
        await unlock();
      },
    };
  } catch (error) {
    await unlock();
    throw error;
  }
}

async function openPostgres(connectionString: string): Promise<Store> {
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format),
  };
  const pool = new pg.Pool({ connectionString, max: 10, types });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrate(db);
  const listeners: pg.Client[] = [];
  return {
    db,
    kind: 'postgres',
    connectionString,
    async listen(channel, onPayload) {
      const client = new pg.Client({ connectionString });
      await client.connect();
      client.on('notification', (n) => n.channel === channel && onPayload(n.payload ?? ''));
      await client.query(`listen ${pg.escapeIdentifier(channel)}`);
      listeners.push(client);
      return async () => {
        listeners.splice(listeners.indexOf(client), 1);
        await client.end();
      };
    },
    async close() {
      await Promise.all(listeners.map((c) => c.end()));
      await db.destroy();
    },
  };
}
