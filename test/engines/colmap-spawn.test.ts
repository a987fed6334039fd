import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runProcess } from '../../src/engines/colmap/spawn.ts';

/** Pids of live processes whose command line contains `marker`. */
async function processesWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Zombies are already dead; they only wait for their parent to reap them.
    if (cmdline.includes(marker) && !/\) Z /.test(stat)) pids.push(Number(entry));
  }
  return pids;
}

describe('COLMAP process runner', () => {
  it('forwards stdout and stderr line by line and reports the exit code', async () => {
    const lines: string[] = [];
    const result = await runProcess('sh', ['-c', 'echo one; echo two >&2; printf three; exit 3'], { onLine: (l) => lines.push(l) });
    assert.equal(result.code, 3);
    assert.equal(result.aborted, false);
    assert.deepEqual(lines.sort(), ['one', 'three', 'two']);
  });

  it('rejects with ENOENT when the binary does not exist', async () => {
    await assert.rejects(runProcess('/nonexistent/colmap', ['help']), { code: 'ENOENT' });
  });

  it('on abort kills the whole process group, SIGKILL for those ignoring SIGTERM', async () => {
    const marker = `recon-spawn-test-${process.pid}-${Date.now()}`;
    const controller = new AbortController();
    // The leader and a background child both ignore SIGTERM; only the group SIGKILL ends them.
    const script = `trap '' TERM; sh -c 'sleep 30; true' ${marker}-child & sleep 30; wait`;
    const running = runProcess('sh', ['-c', script, marker], { signal: controller.signal, killGraceMs: 300 });
    await sleep(300);
    // The leader's own command line names the child too, so expect both.
    assert.equal((await processesWith(`${marker}-child`)).length, 2, 'the background child started');
    const started = performance.now();
    controller.abort();
    const result = await running;
    assert.equal(result.aborted, true);
    assert.equal(result.signal, 'SIGKILL');
    assert.ok(performance.now() - started < 3000);
    await sleep(100);
    assert.deepEqual(await processesWith(marker), []);
  });
});
