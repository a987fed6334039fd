import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config.ts';
import { ARTIFACT_FILES } from '../domain/artifacts.ts';
import { createLogger } from '../logger.ts';
import { startRecon } from '../recon.ts';
import { NodeReconClient } from '../sdk/node.ts';
import { RunProgressDisplay } from './run-progress.ts';
import { ensureDebianPackage } from './system-deps.ts';

const PHOTOS = resolve(import.meta.dirname, '..', '..', 'demo', 'photos');

/**
 * The demo: an embedded server reconstructs the bundled photos with COLMAP, showing progress,
 * then says where the results are. Keeps serving when run in a terminal, so the run can be viewed.
 */
export async function runDemo(options: { keepServing: boolean }) {
  if (!ensureDebianPackage('colmap', ['help'], 'colmap')) process.exit(1);
  const config = loadConfig({ PORT: '3000', ...process.env });
  const recon = await startRecon(config, { log: createLogger(process.env.RECON_LOG_LEVEL ?? 'warn') });
  const url = await recon.listen();
  const client = new NodeReconClient(url);
  const photos = (await readdir(PHOTOS)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  const paths = photos.map((f) => join(PHOTOS, f));
  const bytes = (await Promise.all(paths.map((p) => stat(p)))).reduce((sum, s) => sum + s.size, 0);
  const started = Date.now();
  console.log(`Recon demo — ${photos.length} photos of the Herz-Jesu church (Strecha et al., see demo/photos/ATTRIBUTION.md)`);
  console.log(`Server: ${url} (data in ${config.dataDir})\n`);

  const display = new RunProgressDisplay();
  const run = await client.createRun({ engine: 'colmap', settings: { maxImageSize: 1024 } });
  display.line(`Run ${run.runId} · engine colmap · ${photos.length} images`);
  await client.uploadImages(run.runId, paths, { onProgress: (p) => display.upload(p) });
  display.uploaded(photos.length, bytes);
  await client.process(run.runId);
  const final = await client.wait(run.runId, { onEvent: (e) => display.event(e), onFallback: (e) => display.fallback(e) });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (final.status !== 'completed') {
    display.finish(final);
    await recon.close();
    process.exit(1);
  }
  const cameras = await client.predictionsMetadata(run.runId);
  const runDir = join(config.dataDir, 'runs', run.runId);
  console.log(`\nDone in ${seconds} s: ${cameras.numCameras}/${photos.length} images registered, ${cameras.totalPoints} points.\n`);
  for (const type of Object.keys(final.artifacts)) {
    console.log(`  ${type.padEnd(12)} ${join(runDir, ARTIFACT_FILES[type as keyof typeof ARTIFACT_FILES])}`);
  }
  console.log(`\n  View the scene: ${url}/runs/${run.runId}`);
  console.log(`  The run (API):  ${url}/api/runs/${run.runId}`);
  console.log(`  Inspect a file: npx recon inspect ${join(runDir, 'predictions.npz')}`);
  if (options.keepServing) {
    console.log('\nServing until Ctrl-C…');
    process.once('SIGINT', () => void recon.close().then(() => process.exit(0)));
  } else {
    await recon.close();
  }
}
