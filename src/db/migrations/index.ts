import type { Migration, MigrationProvider } from 'kysely/migration';
import * as runs from './001-runs.ts';
import * as webhooks from './002-webhooks.ts';
import * as batches from './003-batches.ts';
import * as apiKeys from './004-api-keys.ts';
import * as sessions from './005-sessions.ts';
import * as webhookCursor from './006-webhook-cursor.ts';
import * as workers from './007-workers.ts';
import * as blueprints from './008-blueprints.ts';
import * as runStages from './009-run-stages.ts';

/** Migrations in order; applied at start-up. */
export const migrations: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '001-runs': runs,
      '002-webhooks': webhooks,
      '003-batches': batches,
      '004-api-keys': apiKeys,
      '005-sessions': sessions,
      '006-webhook-cursor': webhookCursor,
      '007-workers': workers,
      '008-blueprints': blueprints,
      '009-run-stages': runStages,
    };
  },
};
