import { parentPort } from 'node:worker_threads';
import { KERNELS, type KernelName } from './kernels.ts';
import { type Arrays, arraysFromMessage, type WorkspaceMessage } from './workspace.ts';

/** One thread of a WorkerPool: keeps its view of the shared buffers and runs the kernels it is sent. */
export type PoolRequest = { type: 'buffers'; workspace: WorkspaceMessage } | { type: 'run'; kernel: KernelName; part: number; parts: number };
export type PoolReply = { ok: true } | { ok: false; error: string };

let arrays: Arrays | undefined;
const port = parentPort!;
port.on('message', (request: PoolRequest) => {
  try {
    if (request.type === 'buffers') arrays = arraysFromMessage(request.workspace);
    else {
      if (!arrays) throw new Error('kernel sent before the buffers');
      KERNELS[request.kernel](arrays, request.part, request.parts);
    }
    port.postMessage({ ok: true } satisfies PoolReply);
  } catch (error) {
    port.postMessage({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies PoolReply);
  }
});
