import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TestServer } from './recon.ts';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'main.ts');

/** `recon serve` as a real child process (so it can be killed with SIGKILL), once it answers. */
export async function startChildServer(env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${env.PORT}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited: ${output}`);
    if (await fetch(`${url}/api/health`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error(`server did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, api: httpClient(url), output: () => output };
}

/** The TestServer calls (fetch, json) against any URL. */
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

export const exited = (child: ChildProcess) => new Promise((resolve) => child.once('exit', resolve));
