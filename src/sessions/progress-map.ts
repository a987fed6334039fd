import type { RunEvent } from '../domain/run-event.ts';
import type { ProgressStage } from '../contract/session-messages.ts';

export interface SessionProgress {
  stage: ProgressStage;
  progress: number;
  message: string;
}

const clamp = (value: unknown) => Math.min(1, Math.max(0, typeof value === 'number' && Number.isFinite(value) ? value : 0));
const round = (value: number) => Math.round(value * 1000) / 1000;

/**
 * Maps a run event to the session protocol's progress: waiting for a worker and starting are
 * `loading_model`, the engine's own stages are `inference`, exporting (and fetching results from
 * a remote engine) is `exporting`. `progress` is overall (0–1): each stage fills its own band.
 * Returns undefined for events that say nothing about progress (logs, terminal statuses).
 */
export function progressFromRunEvent(event: RunEvent): SessionProgress | undefined {
  const data = event.data;
  if (event.type === 'retry') {
    return { stage: 'loading_model', progress: 0.05, message: `retrying after: ${String(data.error ?? 'a transient failure')}` };
  }
  if (event.type !== 'status' && event.type !== 'progress') return undefined;
  if (event.type === 'status' && data.status !== 'processing' && data.status !== 'fetching' && data.status !== 'uploading') return undefined;
  if (event.type === 'status' && data.status === 'uploading' && data.stage === undefined) return undefined;
  const stage = typeof data.stage === 'string' ? data.stage : undefined;
  if (!stage) return undefined;
  const fraction = clamp(data.progress);
  const message = typeof data.message === 'string' && data.message ? data.message : stage;
  if (stage === 'waiting') return { stage: 'loading_model', progress: 0.02, message: `Waiting for a worker (${message})` };
  if (stage === 'starting') return { stage: 'loading_model', progress: 0.08, message: `Loading the engine (${message})` };
  if (stage === 'exporting' || stage === 'fetching') {
    return { stage: 'exporting', progress: round(0.8 + 0.1 * fraction), message: `${stage}: ${message}` };
  }
  return { stage: 'inference', progress: round(0.1 + 0.7 * fraction), message: `${stage}: ${message}` };
}
