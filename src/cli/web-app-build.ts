import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { webBuildIsStale } from '../../web/build.ts';

const BUILD_SCRIPT = join(import.meta.dirname, '..', '..', 'web', 'build.ts');

/**
 * However the server was started (`npx recon serve`, `node bin/recon.js serve`, `npm start`), a
 * missing or stale web/dist is rebuilt — in a child process, so start-up does not wait for Vite
 * and the server's memory never holds it. The app's page reloads itself until the build lands.
 */
export function buildWebAppInBackground(log: Logger): void {
  if (!webBuildIsStale()) return;
  log.info('building the web app in the background (web/dist is missing or older than its sources)');
  const started = Date.now();
  const child = spawn(process.execPath, [BUILD_SCRIPT], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-4000)));
  child.on('error', (error) => log.warn({ err: error }, 'could not build the web app; run npm run build:web'));
  child.on('exit', (code) => {
    if (code === 0) log.info({ ms: Date.now() - started }, 'web app built');
    else log.warn({ code, errors }, 'the web app did not build (is Vite installed? npm install without --omit=dev); run npm run build:web');
  });
  // Never keeps the server alive, nor outlives a shutdown by much.
  child.unref();
  process.once('exit', () => child.kill());
}
