import { z } from 'zod';

/**
 * Where one stage of a run stands. A run is an ordered list of stages (one for a plain engine run,
 * several for a pipeline); one stage at a time holds the run's job.
 */
export const STAGE_STATUSES = ['pending', 'waiting', 'running', 'completed', 'failed', 'canceled', 'reused'] as const;
export const stageStatus = z.enum(STAGE_STATUSES);
export type StageStatus = z.infer<typeof stageStatus>;

/** Stages whose outputs the run holds: the next stage may start. `reused` outputs came from another run. */
export const DONE_STAGE_STATUSES: readonly StageStatus[] = ['completed', 'reused'];
export const isStageDone = (status: StageStatus) => DONE_STAGE_STATUSES.includes(status);

/** A small JSON summary a stage reports about what it made (metrics, counts); shown in the run view. */
export type StageSummary = Record<string, unknown>;
