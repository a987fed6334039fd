import { spawn } from 'node:child_process';
import { forwardLines } from '../line-stream.ts';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Aborting kills the whole process group: SIGTERM, then SIGKILL after `killGraceMs`. */
  signal?: AbortSignal;
  killGraceMs?: number;
  /** Every line of stdout and stderr, as it arrives. */
  onLine?: (line: string) => void;
}

export interface RunResult {
  code: number | null;
  /** The signal that ended the process, if one did. */
  signal: NodeJS.Signals | null;
  /** True when `signal` was aborted while the process ran. */
  aborted: boolean;
}

/**
 * Runs `binary args…` detached in its own process group and resolves once it has exited and
 * its output is drained. Rejects only when it cannot be started (e.g. ENOENT).
 */
export function runProcess(binary: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const { signal, killGraceMs = 3000, onLine } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      resolve({ code: null, signal: null, aborted: true });
      return;
    }
    const child = spawn(binary, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;

    const killGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const onAbort = (): void => {
      aborted = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), killGraceMs);
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    if (onLine) {
      forwardLines(child.stdout, onLine);
      forwardLines(child.stderr, onLine);
    } else {
      child.stdout.resume();
      child.stderr.resume();
    }

    child.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      reject(error);
    });
    child.once('exit', () => {
      // Children the leader left behind must not outlive an aborted run.
      if (aborted) killGroup('SIGKILL');
    });
    child.once('close', (code, exitSignal) => {
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      resolve({ code, signal: exitSignal, aborted });
    });
  });
}
