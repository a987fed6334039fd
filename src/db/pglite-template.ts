import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrations } from './migrations/index.ts';

/** npm's conventional place for a tool's caches, beside the packages it was built from. */
const CACHE_DIR = join(import.meta.dirname, '..', '..', 'node_modules', '.cache', 'recon');

let templatePath: Promise<string> | undefined;

/**
 * One template per PGlite version and set of migrations (their code, not only their names, so a
 * migration edited during development never hides behind an old template).
 */
export function storeTemplatePath(): Promise<string> {
  templatePath ??= (async () => {
    const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
    const manifest = JSON.parse(await readFile(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
    const schema = createHash('sha256');
    for (const [name, migration] of Object.entries(await migrations.getMigrations())) schema.update(`${name}\n${migration.up.toString()}\n`);
    return join(CACHE_DIR, `store-pglite-${manifest.version}-${schema.digest('hex').slice(0, 16)}`);
  })();
  return templatePath;
}

/** Copies `from` to `to` through a folder beside `to`, so `to` appears whole or not at all. */
async function copyWhole(from: string, to: string): Promise<void> {
  const partial = `${to}.${randomUUID()}.partial`;
  try {
    await cp(from, partial, { recursive: true });
    await rename(partial, to);
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}

/**
 * Starts a new store's folder as a copy of this install's template, when an earlier new store
 * left one; false when there is none. initdb and the migrations are most of a new embedded
 * store's start (about 3 s of WASM on one core) and give the same files every time; a copy takes
 * a few milliseconds.
 */
export async function copyStoreTemplate(folder: string): Promise<boolean> {
  const template = await storeTemplatePath();
  if (!existsSync(template)) return false;
  if (!existsSync(join(template, 'PG_VERSION'))) {
    await forgetStoreTemplate();
    return false;
  }
  // No PG_VERSION here, so nothing initdb would have kept: whatever an interrupted start left goes.
  await rm(folder, { recursive: true, force: true });
  await copyWhole(template, folder);
  return true;
}

/** Drops the template (one that would not open), so the next new store makes another. */
export async function forgetStoreTemplate(): Promise<void> {
  await rm(await storeTemplatePath(), { recursive: true, force: true });
}

/** Keeps a copy of a new, migrated and cleanly closed store's folder as the template. */
export async function saveStoreTemplate(folder: string): Promise<void> {
  const template = await storeTemplatePath();
  // Another process that saved it first wins; the rename onto its folder then fails harmlessly.
  if (!existsSync(template)) await copyWhole(folder, template);
}
