import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { JobWaker } from '../../src/queue/job-waker.ts';

/** A waker over a fake table of due times (ms from the moment of each check), recording its wake-ups. */
function wakerOver(due: Map<string, number>, backstopMs = 60_000) {
  const woken: string[] = [];
  let checks = 0;
  const waker = new JobWaker(
    {
      async dueJobs(queues) {
        checks++;
        return new Map([...due].filter(([queue]) => queues.includes(queue)));
      },
      queues: () => ['runs.a', 'runs.b'],
      wake: (queue) => woken.push(queue),
      onError: (error) => assert.fail(error),
    },
    backstopMs,
  );
  return { waker, woken, checks: () => checks };
}

describe('JobWaker', () => {
  test('wakes the queues whose jobs are due, and only those', async () => {
    const { waker, woken } = wakerOver(new Map([['runs.a', -5], ['runs.b', 30_000], ['runs.other', -1]]));
    waker.checkNow();
    await sleep(20);
    assert.deepEqual(woken, ['runs.a']);
    waker.stop();
  });

  test('a job due later is looked at again when it falls due, not at the backstop', async () => {
    const due = new Map([['runs.b', 80]]);
    const { waker, woken } = wakerOver(due);
    waker.checkNow();
    await sleep(20);
    assert.deepEqual(woken, []);
    due.set('runs.b', 0);
    await sleep(150);
    assert.deepEqual(woken, ['runs.b']);
    waker.stop();
  });

  test('a job sent for later gets a check at its time; checks asked for while one runs are folded into one more', async () => {
    const due = new Map<string, number>();
    const { waker, woken, checks } = wakerOver(due);
    waker.checkIn(60);
    due.set('runs.a', 0);
    await sleep(20);
    assert.equal(checks(), 0, 'nothing before the job is due');
    await sleep(100);
    assert.deepEqual(woken, ['runs.a']);
    const before = checks();
    for (let i = 0; i < 5; i++) waker.checkNow();
    await sleep(30);
    assert.equal(checks() - before, 2, 'one check at once, one for everything asked meanwhile');
    waker.stop();
  });

  test('with nothing waiting it looks again only at the backstop; stop() ends it', async () => {
    const { waker, checks } = wakerOver(new Map(), 50);
    const started = Date.now();
    waker.checkNow();
    await sleep(250);
    const most = Math.floor((Date.now() - started) / 50) + 1;
    assert.ok(checks() >= 2 && checks() <= most, `${checks()} checks in ${Date.now() - started} ms with a 50 ms backstop`);
    waker.stop();
    const stopped = checks();
    await sleep(120);
    assert.equal(checks(), stopped);
  });
});
