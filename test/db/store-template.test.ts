import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { openStore } from '../../src/db/database.ts';
import { forgetStoreTemplate, storeTemplatePath } from '../../src/db/pglite-template.ts';

/** What a new store holds: its cluster's identity (initdb makes a new one), our migrations, pg-boss's schema. */
async function describeStore(dataDir: string) {
  const store = await openStore({ dataDir });
  try {
    const id = await sql<{ id: string }>`select system_identifier::text as id from pg_control_system()`.execute(store.db);
    const migrations = await sql<{ n: number }>`select count(*)::int as n from recon_migrations`.execute(store.db);
    const boss = await sql<{ found: boolean }>`select to_regclass('pgboss.job') is not null as found`.execute(store.db);
    return { cluster: id.rows[0]!.id, migrations: migrations.rows[0]!.n, pgBoss: boss.rows[0]!.found };
  } finally {
    await store.close();
  }
}

describe('new embedded stores start from the install’s template', () => {
  test('the first runs initdb and leaves the template; the next is a copy of it, migrated, with pg-boss installed', async () => {
    const root = await mkdtemp(join(tmpdir(), 'recon-template-'));
    try {
      await forgetStoreTemplate();
      const first = await describeStore(join(root, 'first'));
      assert.ok(existsSync(join(await storeTemplatePath(), 'PG_VERSION')), 'the template was kept');
      const second = await describeStore(join(root, 'second'));
      assert.equal(second.cluster, first.cluster, 'a copy of the first store’s cluster, not a new initdb');
      assert.ok(second.migrations > 0);
      assert.deepEqual(second, first);
      assert.equal(second.pgBoss, true);

      // A template left half-made (no PG_VERSION) is dropped: the store runs initdb and keeps a sound one.
      await forgetStoreTemplate();
      await mkdir(await storeTemplatePath(), { recursive: true });
      await writeFile(join(await storeTemplatePath(), 'stray'), 'left by an interrupted copy');
      const third = await describeStore(join(root, 'third'));
      assert.notEqual(third.cluster, first.cluster, 'initdb ran');
      assert.equal(third.migrations, first.migrations);
      assert.ok(existsSync(join(await storeTemplatePath(), 'PG_VERSION')), 'a sound template replaced it');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
