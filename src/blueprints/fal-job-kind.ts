import type { Transaction } from 'kysely';
import type { BlueprintJobRow, BlueprintJobUpdate } from '../db/blueprint-tables.ts';
import type { Database } from '../db/schema.ts';

/** What a job's result adds: column changes, and writes made in the same transaction that completes it. */
export interface FinishedJob {
  changes: BlueprintJobUpdate;
  commit?: (trx: Transaction<Database>) => Promise<void>;
}

/**
 * One kind of fal job (a generation, a suggestion, a prompt evolution). The runner owns the
 * lifecycle — submit intent, submit, polling, webhooks, retries, crash recovery — and asks the
 * kind only for the request body and what to make of the output.
 */
export interface FalJobKind {
  /** Uploads what the request needs to fal's storage and returns the request body. */
  prepare(job: BlueprintJobRow): Promise<Record<string, unknown>>;
  /** Turns fal's output into results (files go to the blob store before this returns). */
  finish(job: BlueprintJobRow, output: unknown): Promise<FinishedJob>;
}
