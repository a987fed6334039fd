import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeImage, multipart } from '../helpers/images.ts';
import { freePort } from '../helpers/postgres.ts';
import { jsonBody } from '../helpers/recon.ts';
import { httpClient } from '../helpers/recon-process.ts';
import { waitForStatus } from '../helpers/runs.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'recon.js');

/** `recon serve` as a user starts it: bin/recon.js, which runs the server as its own child. */
async function startWrapper(dataDir: string, port: number) {
  const wrapper = spawn(process.execPath, [BIN, 'serve'], {
    env: { ...process.env, RECON_DATA_DIR: dataDir, PORT: String(port), RECON_TEST_ENGINES: '1', RECON_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  wrapper.stdout.on('data', (d) => (output += d));
  wrapper.stderr.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (!(await fetch(`${url}/api/health`).then((r) => r.ok, () => false))) {
    if (wrapper.exitCode !== null) throw new Error(`recon exited: ${output}`);
    if (Date.now() > deadline) throw new Error(`recon did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const api = httpClient(url);
  return { wrapper, api, output: () => output };
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const started: ChildProcess[] = [];
const servers: number[] = [];
after(() => {
  for (const child of started) child.kill('SIGKILL');
  for (const pid of servers) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

const serverPid = async (dataDir: string) => {
  const pid = Number.parseInt(await readFile(join(dataDir, 'recon.lock'), 'utf8'), 10);
  servers.push(pid);
  return pid;
};

test('kill <pid of recon>: the server stops within the deadline, puts its run back in the queue and frees the data folder', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'recon-signals-'));
  const port = await freePort();
  const first = await startWrapper(dataDir, port);
  started.push(first.wrapper);
  const firstServer = await serverPid(dataDir);
  assert.notEqual(firstServer, first.wrapper.pid, "the server is the wrapper's child");

  const { runId } = (await first.api.json('/api/runs', jsonBody({ engine: 'test', settings: { steps: 100, stepMs: 100 } }))).body;
  await first.api.fetch(`/api/runs/${runId}/images`, { method: 'POST', body: multipart([{ name: 'a.jpg', data: await makeImage(1) }]) });
  await first.api.fetch(`/api/runs/${runId}/process`, { method: 'POST' });
  while ((await first.api.json(`/api/runs/${runId}`)).body.stage !== 'inference') await new Promise((r) => setTimeout(r, 50));
  // An open event stream must not hold the shutdown up.
  const stream = await first.api.fetch(`/api/runs/${runId}/stream`);
  assert.equal(stream.status, 200);

  const exit = exited(first.wrapper);
  const killedAt = Date.now();
  process.kill(first.wrapper.pid!, 'SIGTERM');
  const { code, signal } = await exit;
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, first.output());
  assert.ok(Date.now() - killedAt < 8_000, `stopped in ${Date.now() - killedAt} ms`);
  assert.equal(alive(firstServer), false, 'the server process is gone');
  assert.equal(existsSync(join(dataDir, 'recon.lock')), false, 'the data folder lock is released');
  assert.match(first.output(), /shut down cleanly/);
  await stream.body?.cancel().catch(() => {});

  const second = await startWrapper(dataDir, port);
  started.push(second.wrapper);
  const log = await (await second.api.fetch(`/api/runs/${runId}/stream`)).text();
  assert.match(log, /worker shut down mid-run; re-queued/);
  const done = await waitForStatus(second.api, runId, ['completed', 'failed'], 60_000);
  assert.equal(done.status, 'completed', done.error);

  // A command ended by a signal it does not handle: the wrapper reports 128 + the signal number.
  const exit2 = exited(second.wrapper);
  process.kill(await serverPid(dataDir), 'SIGKILL');
  assert.deepEqual(await exit2, { code: 128 + 9, signal: null });
  await rm(dataDir, { recursive: true, force: true });
});
