import type { WorkersList } from '../contract/workers.ts';
import type { RunsRepository } from '../db/runs-repository.ts';
import type { WorkerPresenceRow, WorkersRepository } from '../db/workers-repository.ts';

/** The worker processes sharing this database: each one beats while it lives; the API lists the live ones. */
export class WorkersService {
  readonly #repo: WorkersRepository;
  readonly #runs: Pick<RunsRepository, 'existing'>;

  constructor(deps: { repo: WorkersRepository; runs: Pick<RunsRepository, 'existing'> }) {
    this.#repo = deps.repo;
    this.#runs = deps.runs;
  }

  beat(worker: WorkerPresenceRow): Promise<void> {
    return this.#repo.beat(worker);
  }

  /** A worker that stops cleanly leaves at once rather than fading out after missed beats. */
  leave(id: string): Promise<void> {
    return this.#repo.remove(id);
  }

  /** Live workers; `owner` (an ordinary key) sees the ids of its own runs only. */
  async list(owner: string | null): Promise<WorkersList> {
    const rows = await this.#repo.live();
    const held = rows.flatMap((row) => row.running);
    const visible = owner ? await this.#runs.existing(held, owner) : new Set(held);
    return {
      workers: rows.map((row) => ({
        id: row.id,
        name: row.name,
        version: row.version,
        engines: row.engines,
        runsInProgress: row.running.length,
        runs: row.running.filter((id) => visible.has(id)),
        startedAt: row.started_at.toISOString(),
        lastHeartbeatAt: row.heartbeat_at.toISOString(),
      })),
    };
  }
}
