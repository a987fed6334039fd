import type { RunEvent } from '../domain/run-event.ts';
import type { WebhookEventType } from '../domain/webhook-events.ts';


/** Which webhook event a run event is, if any (run.progress before throttling). */
export function webhookEventFor(event: RunEvent): WebhookEventType | undefined {
  const { status, stage } = event.data as { status?: string; stage?: string | null };
  if (event.type === 'progress') return 'run.progress';
  if (event.type !== 'status') return undefined;
  if (status === 'completed') return 'run.completed';
  if (status === 'failed') return 'run.failed';
  if (status === 'canceled') return 'run.canceled';
  if (status === 'processing' && stage === 'starting') return 'run.started';
  // A new stage while working (extracting, matching, exporting…) is progress too.
  if ((status === 'processing' || status === 'fetching') && stage && stage !== 'waiting') return 'run.progress';
  return undefined;
}
