import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STORE_MODES } from '../helpers/recon.ts';
import { runSoak } from './soak.ts';

// The short version of bench/soak.ts: enough runs and kills to cross every path once.
for (const store of STORE_MODES) {
  test(`soak (${store}): runs failing at random, webhooks refused at random, cancels and reruns, kill -9 and restart — nothing lost, stuck, doubled or left behind`, async () => {
    const report = await runSoak({ runs: 30, store, killEveryMs: 4000, clients: 6, seed: 7 });
    assert.deepEqual(report.problems, []);
    assert.ok(report.kills >= 1, 'the server was killed at least once');
    assert.equal(Object.values(report.byStatus).reduce((a, b) => a + b, 0), report.runs, 'every run counted in a final status');
    assert.ok(report.byStatus.completed && report.byStatus.failed, JSON.stringify(report.byStatus));
    assert.ok(report.webhookRefusals > 0 && report.webhookEvents > 0, 'webhooks were refused and then delivered');
  });
}
