/**
 * Where a V8 CPU profile (`node --cpu-prof`) spends its time: self time per function and per
 * "place" (a package under node_modules, a folder of src/, node's internals, GC, idle).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  byPlace: { place: string; ms: number; share: number }[];
  byFunction: { fn: string; place: string; ms: number; share: number }[];
  /** Inclusive time of frames whose function or place matches, as a share of busy time. */
  inclusive(match: (fn: string, place: string) => boolean): number;
  /** The call stacks (innermost first, `depth` frames) that spent the most self time in `fn`. */
  stacks(fn: string, depth?: number, top?: number): { ms: number; stack: string[] }[];
}

export function place(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const modules = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (modules) return modules[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const src = url.match(/\/(src|bench|test)\/(.+?)(?:\/[^/]+)?$/);
  if (src) return `${src[1]}/${src[2]}`;
  return url;
}

const IDLE = new Set(['(idle)', '(program)']);

/** Now on the clock V8 stamps profiles with (CLOCK_MONOTONIC, in µs), the same in every process. */
export const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Summarizes a profile; with `windows` ([start, end] from `monotonicMicros()`, taken in any
 * process), only the samples inside them count.
 */
export function summarize(path: string, windows?: [number, number][]): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (windows && !windows.some(([start, end]) => at >= start && at <= end)) return;
    self.set(id, (self.get(id) ?? 0) + delta / 1000);
  });
  let totalMs = 0;
  let busyMs = 0;
  const places = new Map<string, number>();
  const functions = new Map<string, { place: string; ms: number }>();
  for (const [id, ms] of self) {
    const frame = byId.get(id)!.callFrame;
    totalMs += ms;
    // Idle, and the in-process profiler's own start/stop calls, are not work being measured.
    if (IDLE.has(frame.functionName) || frame.url === 'node:inspector') continue;
    busyMs += ms;
    const where = place(frame.url, frame.functionName);
    places.set(where, (places.get(where) ?? 0) + ms);
    const file = frame.url.split('/').pop() ?? '';
    const key = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
    const entry = functions.get(key) ?? { place: where, ms: 0 };
    entry.ms += ms;
    functions.set(key, entry);
  }
  const share = (ms: number) => (busyMs ? ms / busyMs : 0);
  return {
    totalMs,
    busyMs,
    byPlace: [...places].map(([p, ms]) => ({ place: p, ms, share: share(ms) })).sort((a, b) => b.ms - a.ms),
    byFunction: [...functions].map(([fn, e]) => ({ fn, place: e.place, ms: e.ms, share: share(e.ms) })).sort((a, b) => b.ms - a.ms),
    stacks(fn, depth = 10, top = 3) {
      const byStack = new Map<string, number>();
      for (const [id, t] of self) {
        if (byId.get(id)!.callFrame.functionName !== fn) continue;
        const frames: string[] = [];
        for (let at: number | undefined = id; at !== undefined && frames.length < depth; at = parent.get(at)) {
          const frame = byId.get(at)!.callFrame;
          if (frame.functionName === '(root)') break;
          frames.push(`${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop() ?? ''}:${frame.lineNumber + 1}`);
        }
        const key = frames.join(' < ');
        byStack.set(key, (byStack.get(key) ?? 0) + t);
      }
      return [...byStack]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([key, ms]) => ({ ms, stack: key.split(' < ') }));
    },
    inclusive(match) {
      let ms = 0;
      for (const [id, t] of self) {
        for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
          const frame = byId.get(at)!.callFrame;
          if (match(frame.functionName, place(frame.url, frame.functionName))) {
            ms += t;
            break;
          }
        }
      }
      return share(ms);
    },
  };
}

/** The newest .cpuprofile file in `dir`. */
export function latestProfile(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  if (!files.length) throw new Error(`no .cpuprofile in ${dir}`);
  return join(dir, files[files.length - 1]!);
}

export function printSummary(summary: ProfileSummary, top = 15, stacksOfTop = 0) {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  console.log(`profile: ${summary.totalMs.toFixed(0)} ms sampled, ${summary.busyMs.toFixed(0)} ms busy (not idle)`);
  console.log('self time by place:');
  for (const p of summary.byPlace.slice(0, top)) console.log(`  ${pct(p.share).padStart(6)}  ${p.ms.toFixed(0).padStart(6)} ms  ${p.place}`);
  console.log('self time by function:');
  for (const f of summary.byFunction.slice(0, top)) console.log(`  ${pct(f.share).padStart(6)}  ${f.ms.toFixed(0).padStart(6)} ms  ${f.fn}  [${f.place}]`);
  for (const f of summary.byFunction.slice(0, stacksOfTop)) {
    const name = f.fn.slice(0, f.fn.lastIndexOf(' '));
    if (name.startsWith('(')) continue;
    console.log(`where ${name} runs (heaviest stacks, innermost first):`);
    for (const { ms, stack } of summary.stacks(name === '(anonymous)' ? '' : name)) {
      console.log(`  ${ms.toFixed(0).padStart(6)} ms  ${stack.join('\n              < ')}`);
    }
  }
}
