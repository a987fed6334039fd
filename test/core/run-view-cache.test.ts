import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunViewCache } from '../../src/core/run-view-cache.ts';
import type { RunView } from '../../src/contract/runs.ts';

const view = (runId: string, changes: Partial<RunView> = {}): RunView =>
  ({ runId, status: 'completed', queuePosition: null, progress: 1, ...changes }) as RunView;

test('serves a stored view only to its owner (or to callers without an owner)', () => {
  const cache = new RunViewCache();
  cache.set('alice', view('run_1'), cache.ticket());
  assert.equal(cache.get('run_1', 'alice')?.runId, 'run_1');
  assert.equal(cache.get('run_1', null)?.runId, 'run_1');
  assert.equal(cache.get('run_1', 'bob'), undefined);
});

test('a view read before a change is not stored after it', () => {
  const cache = new RunViewCache();
  const ticket = cache.ticket();
  cache.forget('run_1'); // an event arrives while the read is in flight
  cache.set(null, view('run_1', { status: 'processing' }), ticket);
  assert.equal(cache.get('run_1', null), undefined);
  cache.set(null, view('run_1'), cache.ticket());
  assert.equal(cache.get('run_1', null)?.status, 'completed');
  cache.forget('run_1');
  assert.equal(cache.get('run_1', null), undefined);
});

test('runs waiting in a queue are never cached; the oldest entry goes past capacity', () => {
  const cache = new RunViewCache(2);
  cache.set(null, view('run_w', { status: 'processing', queuePosition: 3 }), cache.ticket());
  assert.equal(cache.get('run_w', null), undefined);
  for (const id of ['run_a', 'run_b', 'run_c']) cache.set(null, view(id), cache.ticket());
  assert.equal(cache.get('run_a', null), undefined);
  assert.ok(cache.get('run_b', null) && cache.get('run_c', null));
});
