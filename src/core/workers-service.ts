import type { WorkerPresenceRow, WorkersRepository } from '../db/workers-repository.ts';

export interface WorkerView {
  id: string;
  name: string;
  version: string;
  engines: string[];
  /** Runs the worker holds right now. */
  runs: string[];
  runsInProgress: number;
  startedAt: string;
  lastHeartbeatAt: string;
}

/** The worker processes sharing this database: each one beats while it lives; the API lists the live ones. */
export class WorkersService {
  readonly #repo: WorkersRepository;

  constructor(deps: { repo: WorkersRepository }) {
    this.#repo = deps.repo;
  }

  beat(worker: WorkerPresenceRow): Promise<void> {
    return this.#repo.beat(worker);
  }

  /** A worker that stops cleanly leaves at once rather than fading out after missed beats. */
  leave(id: string): Promise<void> {
    return this.#repo.remove(id);
  }

  async list(): Promise<WorkerView[]> {
    const rows = await this.#repo.live();
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      version: row.version,
      engines: row.engines,
      runs: row.running,
      runsInProgress: row.running.length,
      startedAt: row.started_at.toISOString(),
      lastHeartbeatAt: row.heartbeat_at.toISOString(),
    }));
  }
}
