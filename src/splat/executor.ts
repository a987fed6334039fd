import { KERNELS, type KernelName } from './kernels.ts';
import type { Workspace } from './workspace.ts';

/** Runs a kernel over all its parts and resolves when every part is done. */
export interface Executor {
  readonly threads: number;
  run(kernel: KernelName): Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs the parts one after another on this thread: the same split and reduction order as a
 * pool of `workspace.threads` workers, so its results equal the pool's bit for bit.
 */
export class InlineExecutor implements Executor {
  readonly #workspace: Workspace;

  constructor(workspace: Workspace) {
    this.#workspace = workspace;
  }

  get threads(): number {
    return this.#workspace.threads;
  }

  async run(kernel: KernelName): Promise<void> {
    const parts = this.#workspace.threads;
    for (let part = 0; part < parts; part++) KERNELS[kernel](this.#workspace.a, part, parts);
  }

  async close(): Promise<void> {}
}
