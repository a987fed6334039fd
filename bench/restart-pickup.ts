/**
 * Do queued runs get picked up after a kill -9? Queues N test-engine runs on a `recon serve` child,
 * SIGKILLs it, restarts it on the same data folder and prints the queue depth every 10 s.
 * Found with the soak: with pg-boss polling at 5 s (or its LISTEN/NOTIFY mode alone) the depth did
 * not move for minutes after the restart, because a worker sleeps a full interval after each job.
 * Now the queue's JobWaker wakes the workers after every job and when delayed jobs fall due: 86
 * waiting runs drained within 10 s of the restart, with no polling at all.
 *
 *   node bench/restart-pickup.ts [N=60]
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeImage, multipart } from '../test/helpers/images.ts';
const dir = await mkdtemp(join(tmpdir(), 'repro-'));
const port = 4980 + Math.floor(Math.random() * 100);
const env = { ...process.env, RECON_DATA_DIR: dir, PORT: String(port), RECON_TEST_ENGINES: '1', RECON_ENGINE_CONCURRENCY: '4', RECON_LOG_LEVEL: 'warn', RECON_RATE_LIMIT_MAX: '0', RECON_RATE_LIMIT_RUNS_PER_HOUR: '1000000' };
const base = `http://127.0.0.1:${port}`;
const start = async () => { const c = spawn(process.execPath, ['src/main.ts', 'serve'], { env, stdio: ['ignore', 'inherit', 'inherit'] }); while (!(await fetch(`${base}/api/health`).then((r) => r.ok, () => false))) await new Promise((r) => setTimeout(r, 200)); return c; };
let c = await start();
const img = await makeImage(1, 'jpeg', 16);
const ids: string[] = [];
const N = Number(process.argv[2] ?? 120);
await Promise.all(Array.from({ length: 6 }, async () => { while (ids.length < N) { const r = (await (await fetch(`${base}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ engine: 'test', settings: { steps: 2, stepMs: 10 } }) })).json()) as { runId: string }; ids.push(r.runId); await fetch(`${base}/api/runs/${r.runId}/images`, { method: 'POST', body: multipart([{ name: 'a.jpg', data: img }]) }); await fetch(`${base}/api/runs/${r.runId}/process`, { method: 'POST' }); } }));
const count = async () => { const m = await (await fetch(`${base}/metrics`)).text(); return m.match(/recon_queue_depth\{engine="test"\} (\d+)/)?.[1]; };
console.log('queued', N, 'depth', await count());
c.kill('SIGKILL'); await new Promise((r) => c.once('exit', r));
const t = Date.now(); c = await start(); console.log('restarted in', Date.now() - t, 'ms; depth', await count());
for (let i = 0; i < 4; i++) { await new Promise((r) => setTimeout(r, 10_000)); console.log(`${(i + 1) * 10}s depth`, await count()); }
c.kill('SIGKILL');
