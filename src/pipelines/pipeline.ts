import type { ZodType } from 'zod';

/** One stage of a planned run: which engine, with which (not yet validated) settings. */
export interface StagePlan {
  name: string;
  engine: string;
  settings: Record<string, unknown>;
}

/**
 * A run of several stages, as data: the settings a client sends and how they expand to stages,
 * each an engine with its own queue. Artifacts pass from stage to stage through the run's storage.
 * A run started `fromRun` another reuses that run's outputs in place of the first stage.
 */
export interface Pipeline<S extends Record<string, unknown> = Record<string, unknown>> {
  id: string;
  title: string;
  description: string;
  settings: ZodType<S>;
  limits: { minImages: number; maxImages: number };
  /** The stages for validated settings, in order; the planner validates each with its engine's schema. */
  stages(settings: S): StagePlan[];
}
