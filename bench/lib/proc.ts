/**
 * Child processes for benches: a server per child so its CPU and memory are its own, started with
 * the project's Node 24, and its resident memory read from /proc while it works.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../../bin/runtime.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The project's Node 24 (the system node is older). */
export const NODE = resolve(ROOT, 'node_modules/.bin/node');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Node flags for the Recon server child: the ones Recon is started with (bin/runtime.js), or
 * BENCH_RECON_NODE_FLAGS to try other V8 settings ("" for Node's defaults).
 */
export const RECON_NODE_FLAGS = (process.env.BENCH_RECON_NODE_FLAGS ?? NODE_FLAGS.join(' ')).split(/\s+/).filter(Boolean);

/** A free TCP port on 127.0.0.1 (released again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export interface NodeChild {
  child: ChildProcess;
  pid: number;
  /** The last lines the child wrote (stdout and stderr), for error messages. */
  tail(): string;
  /** Resolves with the first stdout line that matches. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(timeoutMs?: number): Promise<void>;
}

/** Starts `node <args>` from the repository root; nothing from it is printed unless `echo` is set. */
export function startNode(args: string[], env: Record<string, string | undefined> = {}, options: { echo?: boolean } = {}): NodeChild {
  const merged: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...env })) if (value !== undefined) merged[key] = value;
  const child = spawn(NODE, args, { cwd: ROOT, env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
  if (!child.pid) throw new Error(`could not start ${NODE} ${args.join(' ')}`);
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  let exited: string | undefined;
  const onData = (stream: 'out' | 'err') => {
    let partial = '';
    return (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 40) lines.shift();
        if (options.echo) process.stderr.write(`  [child ${child.pid}] ${line}\n`);
        if (stream === 'out') {
          for (const waiter of waiters.splice(0)) {
            const match = line.match(waiter.pattern);
            if (match) waiter.resolve(match);
            else waiters.push(waiter);
          }
        }
      }
    };
  };
  child.stdout?.on('data', onData('out'));
  child.stderr?.on('data', onData('err'));
  const exit = new Promise<void>((r) =>
    child.once('exit', (code, signal) => {
      exited = `exited with ${signal ?? code}`;
      r();
    }),
  );
  const tail = () => lines.join('\n');
  return {
    child,
    pid: child.pid,
    tail,
    waitForLine(pattern, timeoutMs = 30_000) {
      return new Promise((resolveLine, reject) => {
        const timer = setTimeout(() => reject(new Error(`child ${child.pid}: no line matching ${pattern} in ${timeoutMs} ms\n${tail()}`)), timeoutMs);
        exit.then(() => reject(new Error(`child ${child.pid} ${exited} before printing ${pattern}\n${tail()}`)));
        waiters.push({
          pattern,
          resolve: (m) => {
            clearTimeout(timer);
            resolveLine(m);
          },
        });
      });
    },
    async stop(timeoutMs = 10_000) {
      if (exited) return;
      child.kill('SIGTERM');
      const killed = await Promise.race([exit.then(() => false), sleep(timeoutMs).then(() => true)]);
      if (killed) {
        child.kill('SIGKILL');
        await exit;
      }
    },
  };
}

/** Polls `url` until it answers 2xx (the child is then listening and ready). */
export async function waitForHttp(url: string, child: NodeChild, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.child.exitCode !== null || child.child.signalCode !== null) {
      throw new Error(`server child exited before answering ${url}\n${child.tail()}`);
    }
    const ok = await fetch(url)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer in ${timeoutMs} ms\n${child.tail()}`);
    await sleep(100);
  }
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Resident set size of a process, in bytes. */
export const rssBytes = (pid: number) => statusField(pid, 'VmRSS');

const CLOCK_TICKS = 100; // USER_HZ, 100 on every Linux we run on

/** CPU time (user + system) a process has used so far, in seconds (from /proc/<pid>/stat). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * Samples a process's RSS every `intervalMs` and, where the kernel lets us reset the high-water
 * mark (`/proc/<pid>/clear_refs` = 5), also reads VmHWM at the end, which catches peaks between
 * samples.
 */
export class RssSampler {
  readonly pid: number;
  readonly before: number;
  readonly hwmReset: boolean;
  #peak: number;
  #samples = 1;
  #timer: NodeJS.Timeout;

  constructor(pid: number, intervalMs = 50) {
    this.pid = pid;
    let reset = false;
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
      reset = true;
    } catch {
      // not allowed here: the sampled peak alone will do
    }
    this.hwmReset = reset;
    this.before = rssBytes(pid);
    this.#peak = this.before;
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  sample() {
    try {
      this.#peak = Math.max(this.#peak, rssBytes(this.pid));
      this.#samples++;
    } catch {
      // the process is gone; stop() reports what was seen
    }
  }

  /** Peak RSS seen while sampling, and its growth over the RSS when sampling started. */
  stop(): { before: number; peak: number; growth: number; samples: number; source: string } {
    clearInterval(this.#timer);
    this.sample();
    let peak = this.#peak;
    let source = `${this.#samples} samples`;
    if (this.hwmReset) {
      try {
        peak = Math.max(peak, statusField(this.pid, 'VmHWM'));
        source += ' + VmHWM';
      } catch {
        // gone
      }
    }
    return { before: this.before, peak, growth: peak - this.before, samples: this.#samples, source };
  }
}
