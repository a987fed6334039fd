import type { NewRunStageRow, RunStageRow } from '../db/schema.ts';
import type { ArtifactKind } from '../domain/artifacts.ts';
import type { StagePlan } from '../pipelines/pipeline.ts';

/**
 * Settings for a rerun: the parent's, with the given ones on top; a stage's settings object is
 * merged key by key, so `{train: {iterations: 500}}` changes one knob and keeps the rest.
 */
export function mergeSettings(parent: Record<string, unknown>, given: Record<string, unknown> | undefined): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...parent };
  for (const [key, value] of Object.entries(given ?? {})) {
    const before = parent[key];
    merged[key] = isPlainObject(before) && isPlainObject(value) ? { ...before, ...value } : value;
  }
  return merged;
}

/** Stage rows for a new run: those before `from` reuse the source run's outputs, the rest start fresh. */
export function stageRows(runId: string, plan: StagePlan[], from = 0, source?: { runId: string; stages: RunStageRow[] }): NewRunStageRow[] {
  return plan.map((stage, position) => {
    const reused = position < from ? source?.stages[position] : undefined;
    if (reused && source) {
      return {
        run_id: runId,
        position,
        name: stage.name,
        engine: reused.engine,
        settings: JSON.stringify(reused.settings),
        status: 'reused',
        progress: 1,
        message: `reused from ${reused.reused_from ?? source.runId}`,
        summary: reused.summary ? JSON.stringify(reused.summary) : null,
        worker: reused.worker,
        reused_from: reused.reused_from ?? source.runId,
        error: null,
        error_hint: null,
        cost_per_hour: null,
        details: reused.details ? JSON.stringify(reused.details) : null,
      };
    }
    return {
      run_id: runId,
      position,
      name: stage.name,
      engine: stage.engine,
      settings: JSON.stringify(stage.settings),
      message: null,
      worker: null,
      reused_from: null,
      error: null,
      error_hint: null,
      cost_per_hour: null,
    };
  });
}

/** Artifacts the reused stages made (what their engines produce), which the new run starts with. */
export function reusedArtifacts(available: Iterable<string>, produced: ArtifactKind[][]): ArtifactKind[] {
  const wanted = new Set<string>(produced.flat());
  return [...available].filter((kind): kind is ArtifactKind => wanted.has(kind));
}

/** Whether two stage settings are the same values (key order aside). */
export function sameSettings(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
