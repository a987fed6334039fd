import type { Migration, MigrationProvider } from 'kysely/migration';
import * as runs from './001-runs.ts';

/** Migrations in order; applied at start-up. */
export const migrations: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return { '001-runs': runs };
  },
};
