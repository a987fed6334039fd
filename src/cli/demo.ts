import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config.ts';
import { ARTIFACT_FILES } from '../engines/engine.ts';
import { createLogger } from '../logger.ts';
import { startRecon } from '../recon.ts';
import { ReconClient } from '../sdk/client.ts';
import { ProgressLine } from './progress-bar.ts';
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
  const client = new ReconClient(url);
  const photos = (await readdir(PHOTOS)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  const started = Date.now();
  console.log(`Recon demo — ${photos.length} photos of the Herz-Jesu church (Strecha et al., see demo/photos/ATTRIBUTION.md)`);
  console.log(`Server: ${url} (data in ${config.dataDir})\n`);

  const run = await client.createRun({ engine: 'colmap', settings: { maxImageSize: 1024 } });
  await client.uploadImages(run.runId, photos.map((f) => join(PHOTOS, f)));
  await client.process(run.runId);
  console.log(`Run ${run.runId}: uploaded ${photos.length} images, queued for COLMAP`);

  const bar = new ProgressLine();
  let stage = 'waiting';
  for await (const event of client.events(run.runId)) {
    if (event.type === 'progress' || (event.type === 'status' && event.stage)) {
      if (event.stage !== stage && stage !== 'waiting') bar.done(`  ✓ ${stage}`);
      stage = String(event.stage ?? stage);
      bar.update(stage, Number(event.progress ?? 0), String(event.message ?? ''));
    }
    if (event.type === 'retry') bar.done(`  ↻ retrying: ${event.error}`);
  }
  bar.done(`  ✓ ${stage}`);

  const final = await client.getRun(run.runId);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (final.status !== 'completed') {
    console.error(`\nThe run ${final.status}: ${final.error ?? ''}${final.errorHint ? `\nHint: ${final.errorHint}` : ''}`);
    await recon.close();
    process.exit(1);
  }
  const cameras = await recon.app.inject({ url: `/api/runs/${run.runId}/predictions/metadata` }).then((r) => r.json());
  const runDir = join(config.dataDir, 'runs', run.runId);
  console.log(`\nDone in ${seconds} s: ${cameras.numCameras}/${photos.length} images registered, ${cameras.totalPoints} points.\n`);
  for (const type of Object.keys(final.artifacts)) {
    console.log(`  ${type.padEnd(12)} ${join(runDir, ARTIFACT_FILES[type as keyof typeof ARTIFACT_FILES])}`);
  }
  console.log(`\n  View the run:   ${url}/api/runs/${run.runId}`);
  console.log(`  Cameras:        ${url}/api/runs/${run.runId}/cameras`);
  console.log(`  Inspect a file: npx recon inspect ${join(runDir, 'predictions.npz')}`);
  if (options.keepServing) {
    console.log('\nServing until Ctrl-C…');
    process.once('SIGINT', () => void recon.close().then(() => process.exit(0)));
  } else {
    await recon.close();
  }
}
