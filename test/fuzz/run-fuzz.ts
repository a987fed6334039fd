import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type FuzzCase, generateCase } from './cases.ts';
import type { Failure, FuzzTarget } from './target.ts';

export const CORPUS = join(import.meta.dirname, 'corpus');

export interface FuzzReport {
  seed: number;
  tried: number;
  byMutation: Record<string, number>;
  failures: Failure[];
  serverStayedUp: boolean;
}

/** Runs cases `from`..`from+count-1` of `seed`; every failure is saved to the corpus when `save`. */
export async function fuzz(target: FuzzTarget, options: { seed: number; from?: number; count: number; save?: boolean; log?: (line: string) => void }): Promise<FuzzReport> {
  const report: FuzzReport = { seed: options.seed, tried: 0, byMutation: {}, failures: [], serverStayedUp: true };
  const from = options.from ?? 0;
  for (let index = from; index < from + options.count; index++) {
    const fuzzCase = generateCase(target.openapi, options.seed, index);
    const reason = await target.check(fuzzCase);
    report.tried++;
    const family = fuzzCase.kind === 'ws' ? 'websocket' : fuzzCase.mutation.split(':')[0]!;
    report.byMutation[family] = (report.byMutation[family] ?? 0) + 1;
    if (reason) {
      report.failures.push({ case: fuzzCase, reason });
      options.log?.(`FAIL seed ${options.seed} case ${index}: ${fuzzCase.operation} [${fuzzCase.mutation}] ${reason}`);
      if (options.save) await saveToCorpus(fuzzCase, reason);
    }
    if (index % 100 === 99 && !(await target.alive())) {
      report.serverStayedUp = false;
      break;
    }
  }
  report.serverStayedUp &&= await target.alive();
  return report;
}

export async function saveToCorpus(fuzzCase: FuzzCase, reason: string): Promise<void> {
  const name = `${fuzzCase.seed}-${fuzzCase.index}.json`;
  await writeFile(join(CORPUS, name), `${JSON.stringify({ reason, case: fuzzCase }, null, 2)}\n`);
}

export async function corpus(): Promise<{ file: string; case: FuzzCase; reason: string }[]> {
  const files = (await readdir(CORPUS)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(files.map(async (file) => ({ file, ...(JSON.parse(await readFile(join(CORPUS, file), 'utf8')) as { case: FuzzCase; reason: string }) })));
}
