// Builds the web app into web/dist when it is missing or older than its sources.
//   node web/build.ts            build now
//   node web/build.ts --if-stale build only when a source changed since the last build
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const WEB = import.meta.dirname;
const DIST_INDEX = join(WEB, 'dist', 'index.html');
// Server-side modules the app imports (browser-safe ones only).
const SHARED = ['sdk', 'formats/image-type.ts', 'contract', 'domain'].map((file) => resolve(WEB, '..', 'src', file));

function newestSource(): number {
  let newest = 0;
  const visit = (path: string) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
    else newest = Math.max(newest, stat.mtimeMs);
  };
  for (const path of [join(WEB, 'src'), join(WEB, 'index.html'), join(WEB, 'vite.config.ts'), ...SHARED]) visit(path);
  return newest;
}

export function webBuildIsStale(): boolean {
  const built = statSync(DIST_INDEX, { throwIfNoEntry: false });
  return !built || built.mtimeMs < newestSource();
}

/** Builds web/dist with Vite; with `ifStale`, only when the sources are newer than the build. */
export async function buildWeb(options: { ifStale?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (options.ifStale && !webBuildIsStale()) return false;
  const { build } = await import('vite');
  await build({ root: WEB, configFile: join(WEB, 'vite.config.ts'), logLevel: options.quiet ? 'error' : 'info' });
  return true;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const ifStale = process.argv.includes('--if-stale');
  const built = await buildWeb({ ifStale, quiet: ifStale });
  if (ifStale) console.log(built ? 'web app rebuilt (web/dist)' : 'web app is up to date (web/dist)');
}
