/**
 * The HTTP and WebSocket fuzzer, long runs: cases generated from /openapi.json against a real
 * server (test engine, PGlite or Postgres). Every failing case is written to test/fuzz/corpus/,
 * which the tests replay.
 *
 *   node bench/fuzz.ts [--cases 5000] [--seed N] [--store pglite|postgres]
 *   node bench/fuzz.ts --seed N --case K        replay one case and print what happened
 */
import { parseArgs } from 'node:util';
import { generateCase } from '../test/fuzz/cases.ts';
import { fuzz } from '../test/fuzz/run-fuzz.ts';
import { startFuzzTarget } from '../test/fuzz/target.ts';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '5000' },
    seed: { type: 'string' },
    case: { type: 'string' },
    store: { type: 'string', default: 'pglite' },
  },
});
const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const target = await startFuzzTarget(values.store === 'postgres' ? 'postgres' : 'pglite');
try {
  if (values.case !== undefined) {
    const fuzzCase = generateCase(target.openapi, seed, Number(values.case));
    console.log(JSON.stringify(fuzzCase, null, 2));
    console.log((await target.check(fuzzCase)) ?? 'passed');
  } else {
    console.log(`fuzzing ${values.cases} cases, seed ${seed} (replay one: --seed ${seed} --case K), store ${values.store}`);
    const started = Date.now();
    const report = await fuzz(target, { seed, count: Number(values.cases), save: true, log: console.log });
    console.log(
      JSON.stringify({
        seed,
        store: values.store,
        cases: report.tried,
        byMutation: report.byMutation,
        failures: report.failures.length,
        serverStayedUp: report.serverStayedUp,
        seconds: Math.round((Date.now() - started) / 1000),
      }),
    );
    process.exitCode = report.failures.length || !report.serverStayedUp ? 1 : 0;
  }
} finally {
  await target.close();
}
