import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { STORE_MODES } from '../helpers/recon.ts';
import { corpus, fuzz } from './run-fuzz.ts';
import { type FuzzTarget, startFuzzTarget } from './target.ts';

/** A fixed seed keeps CI repeatable; RECON_FUZZ_SEED explores others (bench/fuzz.ts runs long ones). */
const SEED = Number(process.env.RECON_FUZZ_SEED ?? 20261201);
const CASES = Number(process.env.RECON_FUZZ_CASES ?? 250);
/** The HTTP layer is the same on both stores: Postgres gets a shorter run (the suite's time is bounded). */
const casesFor = (mode: string) => (mode === 'pglite' ? CASES : Math.ceil(CASES / 2.5));

for (const mode of STORE_MODES) {
  describe(`fuzzing the HTTP API and the session socket (${mode})`, () => {
    let target: FuzzTarget;
    before(async () => {
      target = await startFuzzTarget(mode);
    });
    after(() => target?.close());

    test('every case that ever failed (test/fuzz/corpus) now passes', async () => {
      const cases = await corpus();
      assert.ok(cases.length > 0, 'the corpus holds the cases found so far');
      const failures: string[] = [];
      for (const entry of cases) {
        const reason = await target.check(entry.case);
        if (reason) failures.push(`${entry.file} (${entry.case.operation} [${entry.case.mutation}]): ${reason}`);
      }
      assert.deepEqual(failures, []);
      assert.ok(await target.alive());
    });

    const generated = casesFor(mode);
    test(`${generated} generated cases, seed ${SEED}: no 5xx, every refusal is problem+json and changes nothing, the server stays up`, async () => {
      const report = await fuzz(target, { seed: SEED, count: generated });
      const failures = report.failures.map((f) => `case ${f.case.index} (${f.case.operation} [${f.case.mutation}]): ${f.reason} — replay: node bench/fuzz.ts --seed ${SEED} --case ${f.case.index}`);
      assert.deepEqual(failures, []);
      assert.equal(report.tried, generated);
      assert.ok(report.serverStayedUp);
      for (const family of ['path', 'query', 'body', 'headers', 'content-type', 'method', 'websocket']) {
        assert.ok((report.byMutation[family] ?? 0) > 0, `cases of kind ${family} were tried`);
      }
    });
  });
}
