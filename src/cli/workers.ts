import type { WorkersList } from '../sdk/client.ts';
import { parseCommand } from './args.ts';
import { remote } from './connect.ts';
import { formatAge, table } from './format.ts';

export const WORKERS_HELP = `Usage: recon workers [--json]

The workers taking runs from the server named by RECON_URL (default http://127.0.0.1:3000):
each one's name, the engines it takes, the runs it holds, its last heartbeat and version.
A worker that stops beating drops out of the list after three missed heartbeats.`;

/** `recon workers`: GET /api/workers, as a table or JSON. */
export async function workersCommand(args: string[]): Promise<number> {
  const { values, help } = parseCommand('workers', args, { json: { type: 'boolean' } }, WORKERS_HELP, { max: 0 });
  if (help) {
    console.log(WORKERS_HELP);
    return 0;
  }
  const listing = await remote().client.workers();
  console.log(values.json ? JSON.stringify(listing, null, 2) : formatWorkers(listing));
  return 0;
}

export function formatWorkers(listing: WorkersList, now = Date.now()): string {
  if (!listing.workers.length) return 'No live workers: start one with `recon worker` (it needs DATABASE_URL, and S3_BUCKET on another machine).';
  const rows = listing.workers.map((w) => [
    w.name,
    w.engines.join(',') || '-',
    w.runs.length ? `${w.runsInProgress} (${w.runs.join(', ')})` : String(w.runsInProgress),
    formatAge(w.lastHeartbeatAt, now),
    w.version,
  ]);
  return table(['NAME', 'ENGINES', 'RUNS', 'HEARTBEAT', 'VERSION'], rows);
}
