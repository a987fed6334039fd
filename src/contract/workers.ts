import { z } from 'zod';

export const workerView = z.object({
  id: z.string().describe('One per worker process'),
  name: z.string().describe('RECON_WORKER_NAME, or the host name'),
  version: z.string(),
  engines: z.array(z.string()).describe('Engines it takes runs for (those whose check passes on its machine)'),
  runsInProgress: z.number().int(),
  runs: z.array(z.string()).describe('Ids of the runs it holds right now (an ordinary key sees only its own)'),
  startedAt: z.string(),
  lastHeartbeatAt: z.string(),
});
export type WorkerView = z.infer<typeof workerView>;

export const workersResponse = z.object({ workers: z.array(workerView) });
export type WorkersList = z.infer<typeof workersResponse>;
