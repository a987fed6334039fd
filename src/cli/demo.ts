import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config.ts';
import { ARTIFACT_FILES } from '../domain/artifacts.ts';
import { createLogger } from '../logger.ts';
import { startRecon } from '../recon.ts';
import type { RunView } from '../contract/runs.ts';
import { formatBytes } from '../sdk/format.ts';
import { NodeReconClient } from '../sdk/node.ts';
import { formatDuration } from './format.ts';
import { RunProgressDisplay } from './run-progress.ts';
import { ensureDebianPackage } from './system-deps.ts';

const PHOTOS = resolve(import.meta.dirname, '..', '..', 'demo', 'photos');

/** What the demo runs: COLMAP alone, or the whole splat pipeline (COLMAP → training → compression → evaluation). */
const DEMOS = {
  colmap: { engine: 'colmap', settings: { maxImageSize: 1024 }, what: 'reconstructs them with COLMAP' },
  splat: {
    engine: 'splat',
    // The quick preset: minutes on two cores; the first of the 8 photos is held out for the metrics.
    settings: { sfm: { maxImageSize: 1024 }, scene: { maxImageSize: 1024 }, train: { preset: 'quick' } },
    what: 'turns them into Gaussian splats (COLMAP → CPU training → SOG/SPZ → metrics)',
  },
} as const;

/**
 * The demo: an embedded server reconstructs the bundled photos with COLMAP (or trains Gaussian
 * splats on them), showing progress, then says where the results are. Keeps serving when run in
 * a terminal, so the run can be viewed.
 */
export async function runDemo(options: { keepServing: boolean; splat?: boolean }) {
  const demo = DEMOS[options.splat ? 'splat' : 'colmap'];
  if (!ensureDebianPackage('colmap', ['help'], 'colmap')) process.exit(1);
  const config = loadConfig({ PORT: '3000', ...process.env });
  const recon = await startRecon(config, { log: createLogger(process.env.RECON_LOG_LEVEL ?? 'warn') });
  const url = await recon.listen();
  const client = new NodeReconClient(url);
  const photos = (await readdir(PHOTOS)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  const paths = photos.map((f) => join(PHOTOS, f));
  const bytes = (await Promise.all(paths.map((p) => stat(p)))).reduce((sum, s) => sum + s.size, 0);
  const started = Date.now();
  console.log(`Recon demo — ${photos.length} photos of the Herz-Jesu church (Strecha et al., see demo/photos/ATTRIBUTION.md); ${demo.what}`);
  console.log(`Server: ${url} (data in ${config.dataDir})\n`);

  const display = new RunProgressDisplay();
  const run = await client.createRun({ engine: demo.engine, settings: demo.settings });
  display.line(`Run ${run.runId} · ${demo.engine === 'splat' ? `pipeline ${run.stages.map((s) => s.name).join(' → ')}` : 'engine colmap'} · ${photos.length} images`);
  display.follow(run);
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
  console.log(`\nDone in ${seconds} s: ${cameras.numCameras}/${photos.length} images registered, ${cameras.totalPoints} points.`);
  for (const line of stageLines(final)) console.log(line);
  console.log('');
  for (const type of Object.keys(final.artifacts)) {
    console.log(`  ${type.padEnd(22)} ${join(runDir, ARTIFACT_FILES[type as keyof typeof ARTIFACT_FILES])}`);
  }
  console.log(`\n  View the ${demo.engine === 'splat' ? 'splats' : 'scene'}: ${url}/runs/${run.runId}`);
  console.log(`  The run (API):  ${url}/api/runs/${run.runId}`);
  console.log(`  Inspect a file: npx recon inspect ${join(runDir, 'predictions.npz')}`);
  if (options.keepServing) {
    console.log('\nServing until Ctrl-C…');
    process.once('SIGINT', () => void recon.close().then(() => process.exit(0)));
  } else {
    await recon.close();
  }
}

/** What the splat stages report in their summaries (see the train, compress and evaluate engines). */
interface StageFacts {
  iterations?: number;
  gaussians?: number;
  bytes?: Record<string, number>;
  formats?: Record<string, { testPsnr?: number; trainPsnr?: number }>;
}

/** One line per stage of a run of several: how long it took, and what training and evaluation measured. */
function stageLines(run: RunView): string[] {
  if (run.stages.length < 2) return [];
  return run.stages.map((stage) => {
    const summary = (stage.summary ?? {}) as StageFacts;
    const facts =
      stage.name === 'train'
        ? `${summary.iterations} iterations, ${summary.gaussians?.toLocaleString('en')} Gaussians`
        : stage.name === 'evaluate'
          ? `PSNR held-out ${summary.formats?.['splat-ply']?.testPsnr?.toFixed(2)} dB, training views ${summary.formats?.['splat-ply']?.trainPsnr?.toFixed(2)} dB (PLY); SOG ${summary.formats?.sog?.testPsnr?.toFixed(2)} dB held-out`
          : stage.name === 'compress'
            ? `SOG ${formatBytes(summary.bytes?.sog ?? 0)}, SPZ ${formatBytes(summary.bytes?.spz ?? 0)} from a ${formatBytes(summary.bytes?.ply ?? 0)} PLY`
            : '';
    return `  ${stage.name.padEnd(9)} ${formatDuration(stage.seconds * 1000).padStart(9)}  ${facts}`;
  });
}
