import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { unzipToFolder } from '../../formats/unzip-folder.ts';
import { notInstalledError, stepFailedError } from '../colmap/errors.ts';
import { commonFolder } from '../colmap/layout.ts';
import { runProcess } from '../colmap/spawn.ts';
import { type EngineContext, EngineError } from '../engine.ts';
import { SCENE_IMAGES, SCENE_MODEL, type SplatSceneSettings } from './settings.ts';

const UNDISTORTING = /^Undistorting image \[(\d+)\/(\d+)\]/;
const TAIL_LINES = 40;

/** Reads COLMAP's "Undistorting image [i/N]" lines. */
export function parseUndistortLine(line: string): { done: number; total: number } | undefined {
  const m = UNDISTORTING.exec(line);
  return m ? { done: Number(m[1]), total: Number(m[2]) } : undefined;
}

export function undistorterArgs(imagePath: string, modelPath: string, outputPath: string, maxImageSize: number): string[] {
  return [
    'image_undistorter',
    '--image_path', imagePath,
    '--input_path', modelPath,
    '--output_path', outputPath,
    '--output_type', 'COLMAP',
    '--max_image_size', String(maxImageSize),
  ];
}

/**
 * The COLMAP model of an earlier stage (colmap.zip), undistorted by `colmap image_undistorter`
 * into pinhole cameras and undistorted images under `outDir` (`images/`, `sparse/`). Poses are
 * kept, so the splats land in the same world frame as the run's cameras.
 */
export async function undistortColmapModel(ctx: EngineContext<SplatSceneSettings>, colmapZip: string, outDir: string, options: { binary: string; signal: AbortSignal }): Promise<void> {
  const modelRoot = join(ctx.workDir, 'model');
  await unzipToFolder(colmapZip, modelRoot);
  const modelPath = join(modelRoot, 'sparse', '0');
  if (!ctx.inputs.length) throw new EngineError('The run has no images to undistort');
  await mkdir(outDir, { recursive: true });
  // The model names images as the sfm stage laid them out: relative to their common folder (photos and video frames alike).
  const args = undistorterArgs(commonFolder(ctx.inputs), modelPath, outDir, ctx.settings.maxImageSize);
  ctx.log(`$ colmap ${args.join(' ')}`);
  const tail: string[] = [];
  const result = await runProcess(options.binary, args, {
    env: { ...process.env, QT_QPA_PLATFORM: 'offscreen', GLOG_logtostderr: '1' },
    cwd: ctx.workDir,
    signal: options.signal,
    onLine: (line) => {
      ctx.log(line);
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      const step = parseUndistortLine(line);
      if (step) ctx.progress('undistorting', step.done / step.total, `Undistorted image ${step.done} of ${step.total}`);
    },
  }).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'ENOENT' ? notInstalledError(options.binary, error) : error;
  });
  options.signal.throwIfAborted();
  if (result.code !== 0) throw stepFailedError('image_undistorter', result.code, result.signal, tail);
  // Only the images and the model belong to the scene, not the dense-stereo set-up COLMAP adds.
  for (const extra of await readdir(outDir)) if (extra !== SCENE_IMAGES && extra !== SCENE_MODEL) await rm(join(outDir, extra), { recursive: true, force: true });
  const images = await readdir(join(outDir, SCENE_IMAGES)).catch(() => []);
  if (!images.length) throw new EngineError('COLMAP image_undistorter wrote no images', { hint: "The run log has COLMAP's output" });
  ctx.log(`undistorted ${images.length} images to pinhole cameras`);
}
