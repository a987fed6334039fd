import { randomToken } from './ids.ts';

/**
 * Defect blueprints: the words every layer shares. A blueprint's status is derived from its
 * jobs and ratings (see `blueprintStatus`), never set by hand.
 */
export const BLUEPRINT_STATUSES = ['draft', 'generating', 'ready_for_review', 'completed'] as const;
export type BlueprintStatus = (typeof BLUEPRINT_STATUSES)[number];

export const JOB_KINDS = ['generation', 'suggestion', 'evolution'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/**
 * A fal job: `submitting` is written (and committed) before the submit call and `submitted`
 * with the request id after it, so a crash in between is visible and never resubmitted blindly.
 */
export const JOB_STATUSES = ['queued', 'submitting', 'submitted', 'completed', 'failed', 'canceled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const ACTIVE_JOB_STATUSES: readonly JobStatus[] = ['queued', 'submitting', 'submitted'];
export const isActiveJob = (status: JobStatus) => ACTIVE_JOB_STATUSES.includes(status);

export const RATINGS = ['approved', 'rejected', 'needs_refinement'] as const;
export type Rating = (typeof RATINGS)[number];

export const DEFECT_SOURCES = ['custom', 'template', 'suggested'] as const;
export type DefectSource = (typeof DEFECT_SOURCES)[number];

export const REGION_KINDS = ['mask', 'box', 'auto'] as const;
export type RegionKind = (typeof REGION_KINDS)[number];

export const PROMPT_STRATEGIES = ['seed', 'manual_edit', 'evolved'] as const;
export type PromptStrategy = (typeof PROMPT_STRATEGIES)[number];

/** [x, y, w, h] in pixels from the top-left corner. */
export type Box = [x: number, y: number, w: number, h: number];

/** What a blueprint's status follows from: its generation jobs and, per matrix cell, whether one is approved. */
export function blueprintStatus(input: { generations: { status: JobStatus; rating: Rating | null; cell: string }[]; cells: number }): BlueprintStatus {
  const { generations, cells } = input;
  if (!generations.length) return 'draft';
  if (generations.some((g) => isActiveJob(g.status))) return 'generating';
  const approvedCells = new Set(generations.filter((g) => g.status === 'completed' && g.rating === 'approved').map((g) => g.cell));
  return cells > 0 && approvedCells.size >= cells ? 'completed' : 'ready_for_review';
}

export const BLUEPRINT_ID_PATTERN = /^bp_\d{10,16}_[a-z0-9]{6,12}$/;
/** Ids of a blueprint's parts: photos `ob_`, defects `df_`, regions `rg_`, prompts `pr_`, jobs `gn_`/`sg_`/`ev_`, exports `ex_`. */
export const PART_ID_PATTERN = /^(ob|df|rg|pr|gn|sg|ev|ex)_\d{10,16}_[a-z0-9]{6,12}$/;

/** Like run ids: `bp_<ms>_<random>`, sorting by creation time. */
export function newBlueprintId(now = Date.now()): string {
  return `bp_${now}_${randomToken(8)}`;
}

export function isBlueprintId(value: string): boolean {
  return BLUEPRINT_ID_PATTERN.test(value);
}

export type PartPrefix = 'ob' | 'df' | 'rg' | 'pr' | 'gn' | 'sg' | 'ev' | 'ex';
export function newPartId(prefix: PartPrefix, now = Date.now()): string {
  return `${prefix}_${now}_${randomToken(8)}`;
}

/** Seeds are sent to fal as JSON numbers, so they stay below 2^53 to come back exact. */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;
