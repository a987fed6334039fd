/**
 * Soak and chaos (see test/soak/soak.ts): 1,000 runs through the HTTP API of a real `recon serve`
 * while the test engine and the webhook receiver fail at random and the server is kill -9ed and
 * restarted every ~20 s; then every run must be final, the counts must agree, every webhook
 * delivered, nothing orphaned.
 *
 *   node bench/soak.ts [--runs 1000] [--store pglite|postgres] [--kill-every 20] [--seed N]
 */
import { parseArgs } from 'node:util';
import { runSoak } from '../test/soak/soak.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000' },
    store: { type: 'string', default: 'pglite' },
    'kill-every': { type: 'string', default: '20' },
    seed: { type: 'string', default: String(Date.now() % 100000) },
  },
});
console.log(`soak: ${values.runs} runs on ${values.store}, kill -9 every ~${values['kill-every']} s, seed ${values.seed}`);
const report = await runSoak({
  runs: Number(values.runs),
  store: values.store === 'postgres' ? 'postgres' : 'pglite',
  killEveryMs: Number(values['kill-every']) * 1000,
  seed: Number(values.seed),
  log: (line) => console.log(`  ${line}`),
});
// Grouped by kind (run ids left out), then the first few as they were.
const kinds = new Map<string, number>();
for (const problem of report.problems) {
  const kind = problem.replace(/\b(run|bp|wh)_[0-9a-z_]+/g, '<id>');
  kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
}
for (const [kind, count] of kinds) console.log(`PROBLEM ×${count} ${kind}`);
for (const problem of report.problems.slice(0, 20)) console.log(`  e.g. ${problem}`);
console.log(JSON.stringify({ ...report, problems: report.problems.length }));
process.exitCode = report.problems.length ? 1 : 0;
