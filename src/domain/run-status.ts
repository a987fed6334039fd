import { z } from 'zod';

/** The seed's statuses, plus `canceled`. */
export const RUN_STATUSES = ['queued', 'uploading', 'processing', 'fetching', 'completed', 'failed', 'canceled'] as const;
export const runStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof runStatus>;

export const TERMINAL_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'canceled'];
export const isTerminal = (status: RunStatus) => TERMINAL_STATUSES.includes(status);

/** Statuses in which a worker owns the run. */
export const ACTIVE_STATUSES: readonly RunStatus[] = ['processing', 'fetching'];
