// Fails when an import runs the wrong way through the house: a lower floor reaching up into a
// higher one (stores, engines or formats into core/, the SDK into http/, …), and on problems written
// inline instead of coming from the catalogue. `npm run check` runs it.
//   node scripts/check-layers.ts          list violations, exit 1 if any
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const BOTTOM = ['domain', 'contract'];
const LIBRARIES = [...BOTTOM, 'formats', 'splat', 'config', 'logger'];
const STORES = [...LIBRARIES, 'blobs', 'db', 'queue', 'engines'];
/** Services hold the rules; they may use each other and everything below them. */
const SERVICES = ['core', 'auth', 'batches', 'sessions', 'webhooks', 'metrics', 'postprocess', 'blueprints', 'pipelines', 'workers'];
const BELOW_FACES = [...STORES, ...SERVICES];

/** Which layers each layer may import (its own folder always). Unlisted folders fail the check. */
const ALLOWED: Record<string, string[]> = {
  domain: [],
  contract: ['domain'],
  config: [],
  logger: [],
  formats: ['domain'],
  splat: ['domain', 'formats'],
  blobs: ['domain'],
  db: ['domain'],
  queue: ['domain', 'db'],
  engines: ['domain', 'formats', 'splat', 'config', 'logger'],
  ...Object.fromEntries(SERVICES.map((service) => [service, [...STORES, ...SERVICES]])),
  http: BELOW_FACES,
  worker: BELOW_FACES,
  sdk: BOTTOM,
  cli: [...BELOW_FACES, 'sdk', 'recon'],
  web: [...BOTTOM, 'sdk', 'formats'],
  recon: [...BELOW_FACES, 'http', 'worker'],
  main: [...BELOW_FACES, 'http', 'worker', 'sdk', 'cli', 'recon'],
};

/** The layer of a file: its top folder under src/ (or its own name for src/*.ts); web/src is `web`. */
function layerOf(file: string): string | undefined {
  const path = relative(root, file).split('\\').join('/');
  if (path.startsWith('web/src/')) return 'web';
  const match = /^src\/([^/]+?)(?:\.ts|\/.*)$/.exec(path);
  return match?.[1];
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** Problems come from the one catalogue (src/domain/problems.ts), never written inline. */
const INLINE_PROBLEM = /\bnew Problem\(/;

const problems: string[] = [];
for (const file of [...sourceFiles(join(root, 'src')), ...sourceFiles(join(root, 'web', 'src'))]) {
  if (layerOf(file) !== 'domain' && INLINE_PROBLEM.test(readFileSync(file, 'utf8'))) {
    problems.push(`${relative(root, file)}: writes a Problem inline; add a named factory to src/domain/problems.ts`);
  }
  const from = layerOf(file);
  if (!from) continue;
  const allowed = ALLOWED[from];
  if (!allowed) {
    problems.push(`${relative(root, file)}: folder "${from}" has no place in the layer rules (scripts/check-layers.ts)`);
    continue;
  }
  for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2]!;
    const target = resolve(dirname(file), specifier);
    const to = layerOf(target);
    if (!to || to === from || allowed.includes(to)) continue;
    problems.push(`${relative(root, file)} imports ${relative(root, target)}: ${from}/ may not depend on ${to}/`);
  }
}

if (problems.length) {
  console.error(`${problems.length} layering problem(s):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('layers: every import runs downward; problems come from the catalogue');
