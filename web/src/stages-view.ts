import type { RunStageView } from '../../src/contract/runs.ts';
import { h, replaceChildren } from './dom.ts';
import { formatDuration, formatPercent, humanize } from './format.ts';

/** A stage as the page keeps it: the server's view, updated from the event stream. */
export type StageState = RunStageView;

/** What one SSE event says about a stage (fields of `stage`, `progress` and `status` events). */
export interface StageEvent {
  type: string;
  pipelineStage?: string;
  position?: number;
  status?: string;
  engine?: string;
  worker?: string;
  attempt?: number;
  seconds?: number;
  cost?: number;
  error?: string;
  stageProgress?: number;
  message?: string | null;
  details?: Record<string, unknown>;
}

const STAGE_STATUSES = new Set(['pending', 'waiting', 'running', 'completed', 'failed', 'canceled', 'reused']);

/** Applies an event to the stages; true when something shown changed. */
export function applyStageEvent(stages: StageState[], event: StageEvent): boolean {
  if (!event.pipelineStage) return false;
  const stage = (event.position !== undefined ? stages[event.position] : undefined) ?? stages.find((s) => s.name === event.pipelineStage);
  if (!stage) return false;
  if (event.type === 'stage') {
    if (event.status && STAGE_STATUSES.has(event.status)) stage.status = event.status as StageState['status'];
    if (event.engine) stage.engine = event.engine;
    if (event.worker) stage.worker = event.worker;
    if (event.attempt !== undefined) stage.attempt = event.attempt;
    if (event.seconds !== undefined) stage.seconds = event.seconds;
    if (event.cost !== undefined) stage.cost = event.cost;
    if (event.error) stage.error = event.error;
    if (event.status === 'running' && !stage.startedAt) stage.startedAt = new Date().toISOString();
    if (event.status === 'waiting') stage.progress = 0;
    if (event.status === 'completed') stage.progress = 1;
    return true;
  }
  if (typeof event.stageProgress === 'number') {
    stage.progress = event.stageProgress;
    if (stage.status === 'waiting' || stage.status === 'pending') stage.status = 'running';
    if (event.message !== undefined) stage.message = event.message;
    if (event.details) stage.details = event.details;
    return true;
  }
  return false;
}

/** One line of what a stage is doing or did: its numbers while it runs, time and cost once done. */
function detailOf(stage: StageState): string {
  const d = stage.details as Record<string, number> | undefined;
  if (stage.status === 'running' && d?.iteration !== undefined) {
    return `iteration ${d.iteration}/${d.iterations ?? '?'} · loss ${Number(d.loss).toFixed(4)} · ${Number(d.gaussians).toLocaleString()} Gaussians`;
  }
  if (stage.status === 'running' || stage.status === 'waiting') return stage.message ?? '';
  if (stage.status === 'reused') return `reused from ${stage.reusedFrom ?? 'an earlier run'}`;
  if (stage.status === 'failed') return stage.error ?? 'failed';
  return '';
}

function costOf(stage: StageState): string | null {
  if (stage.status === 'reused' || stage.status === 'pending') return null;
  const parts = [stage.seconds > 0 ? formatDuration(stage.seconds * 1000) : null, stage.cost > 0 ? `cost ${stage.cost.toFixed(stage.cost < 1 ? 4 : 2)}` : null];
  return parts.filter(Boolean).join(' · ') || null;
}

/**
 * The run's stages as an ordered list: each with its engine, status, progress, what it is doing,
 * the worker that ran it, its time and cost. `render` redraws it from the stage states.
 */
export function stagesList() {
  const list = h('ol', { class: 'stages', 'aria-label': 'Stages' });
  return {
    element: list,
    render(stages: StageState[]) {
      replaceChildren(
        list,
        stages.map((stage) =>
          h(
            'li',
            { class: `stage-row stage-row-${stage.status}`, 'data-stage': stage.name, 'data-status': stage.status, ...(stage.status === 'running' && { 'aria-current': 'step' }) },
            h('span', { class: 'row-dot', 'aria-hidden': 'true' }),
            h(
              'div',
              { class: 'stage-body' },
              h(
                'div',
                { class: 'stage-line' },
                h('strong', null, humanize(stage.name)),
                h('span', { class: 'muted small mono' }, stage.engine),
                h('span', { class: `pill pill-stage-${stage.status}` }, stage.status),
                stage.status === 'running' ? h('span', { class: 'muted small' }, formatPercent(stage.progress)) : null,
              ),
              stage.status === 'running' ? h('progress', { max: 1, value: stage.progress, 'aria-label': `${humanize(stage.name)} progress` }) : null,
              h('p', { class: 'stage-info muted small' }, [detailOf(stage), stage.worker ? `worker ${stage.worker}` : null, costOf(stage), stage.attempt > 1 ? `attempt ${stage.attempt}` : null].filter(Boolean).join(' · ')),
            ),
          ),
        ),
      );
    },
  };
}
