import type { RunEventsRepository } from '../db/run-events-repository.ts';
import type { RunEvent } from '../domain/run-event.ts';
import { isTerminal, type RunStatus } from '../domain/run-status.ts';
import { EventFeed } from './event-feed.ts';
import type { RunEventHub } from './run-event-hub.ts';

export interface RunEventFeedDeps {
  events: Pick<RunEventsRepository, 'after'>;
  hub: Pick<RunEventHub, 'watch'>;
  /** Asked when nothing happened for a while: a deleted run writes no final event. */
  runExists(runId: string): Promise<boolean>;
  recheckMs?: number;
}

export const isFinalEvent = (event: RunEvent) => event.type === 'status' && isTerminal(event.data.status as RunStatus);

/** Follows a run's event log until its final status (see EventFeed). */
export class RunEventFeed extends EventFeed<RunEvent> {
  constructor(deps: RunEventFeedDeps) {
    super({ events: deps.events, hub: deps.hub, exists: deps.runExists, isFinal: isFinalEvent, ...(deps.recheckMs !== undefined && { recheckMs: deps.recheckMs }) });
  }
}
