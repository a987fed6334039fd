import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after } from 'node:test';
import type { TestServer } from './recon.ts';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'main.ts');

export interface ReconProcess {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves when it has exited (with its exit code, or the signal's name). */
  exited: Promise<number | string>;
  kill(signal: NodeJS.Signals): Promise<number | string>;
}

const started: ChildProcess[] = [];
after(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** `recon <args>` as a real child process (so it can be killed with SIGKILL); killed when the test file ends. */
export function spawnRecon(args: string[], env: Record<string, string>): ReconProcess {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, RECON_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? -1)));
  return {
    child,
    output: () => output,
    exited,
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Waits until `check` holds (polled), or fails with what the process printed. */
export async function waitUntil(proc: ReconProcess, what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new Error(`exited before ${what}:\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${what} after ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `recon serve` in a child, answering on `port` once this resolves. */
export async function startServeProcess(port: number, env: Record<string, string>, args: string[] = []): Promise<ReconProcess & { api: TestServer }> {
  const proc = spawnRecon(['serve', '--port', String(port), ...args], env);
  const api = httpClient(`http://127.0.0.1:${port}`);
  await waitUntil(proc, 'an answer on /api/health', () => api.fetch('/api/health').then((r) => r.ok, () => false));
  return { ...proc, api };
}

/** `recon worker` in a child, once it has started taking jobs. */
export async function startWorkerProcess(env: Record<string, string>): Promise<ReconProcess> {
  const proc = spawnRecon(['worker'], env);
  await waitUntil(proc, 'the "worker started" line', () => proc.output().includes('worker started'));
  return proc;
}

/** fetch and JSON helpers against a server at `url` (the TestServer shape, without the in-process Recon). */
export function httpClient(url: string): TestServer {
  const fetchAt = (path: string, init?: RequestInit) => fetch(new URL(path, url), init);
  return {
    url,
    fetch: fetchAt,
    async json(path: string, init?: RequestInit) {
      const response = await fetchAt(path, init);
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
    },
  } as TestServer;
}
