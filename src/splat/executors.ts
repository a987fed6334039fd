import { availableParallelism } from 'node:os';
import { type Executor, InlineExecutor } from './executor.ts';
import { WorkerPool } from './worker-pool.ts';
import type { Workspace } from './workspace.ts';

/** Threads for a `threads` setting of 0 (auto): the machine's cores. */
export function resolveThreads(threads: number): number {
  return threads > 0 ? threads : Math.max(1, availableParallelism());
}

/** Worker threads (the default) or, with `inline`, the same split run on this thread. */
export function createExecutor(workspace: Workspace, inline = false): Executor {
  return inline ? new InlineExecutor(workspace) : new WorkerPool(workspace).start();
}
