import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readColmapModel } from '../../formats/colmap-model.ts';
import { zipFolder } from '../../formats/zip.ts';
import type { ArtifactKind } from '../../domain/artifacts.ts';
import type { EngineContext } from '../engine.ts';
import { buildPipeline, chooseMatcher, type ColmapStage, modelConverterArgs } from './commands.ts';
import { notInstalledError, registrationError, stepFailedError, timeoutError, unreadableImagesError } from './errors.ts';
import { type PreparedLayout, prepareLayout } from './layout.ts';
import { listSubModels } from './models.ts';
import { registeredImages, sparsePoints, writePly, writePredictions, writeSceneGlb } from './outputs.ts';
import { createExtractionChecker, createRegistrationCounter, parseProgressLine } from './progress.ts';
import { type ColmapSettings, colmapSettings } from './settings.ts';
import { runProcess } from './spawn.ts';

export interface RunnerOptions {
  binary: string;
  killGraceMs?: number;
}

const TAIL_LINES = 40;

/** feature_extractor → matcher → mapper → model_converter, then the artifacts. */
export async function runColmap(ctx: EngineContext<ColmapSettings>, options: RunnerOptions): Promise<void> {
  const settings = colmapSettings.parse(ctx.settings);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), settings.timeoutSeconds * 1000);
  const signal = AbortSignal.any([ctx.signal, deadline.signal]);
  try {
    await reconstruct(ctx, settings, { ...options, signal });
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (deadline.signal.aborted) throw timeoutError(settings.timeoutSeconds);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

interface StepResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines of output, for error messages. */
  tail: string[];
}

/** Runs one colmap command; rejects only if it cannot start or the run is aborted. */
type StepRunner = (args: string[], onLine?: (line: string) => void) => Promise<StepResult>;

async function reconstruct(ctx: EngineContext<ColmapSettings>, settings: ColmapSettings, options: RunnerOptions & { signal: AbortSignal }): Promise<void> {
  const layout = await prepareLayout(ctx.workDir, ctx.inputs);
  const total = layout.names.length;
  const runStep = createStepRunner(ctx, layout, options);
  ctx.log(`COLMAP: ${total} images from ${layout.imagePath}, ${chooseMatcher(settings, total)} matching`);

  const extraction = createExtractionChecker();
  const registration = createRegistrationCounter();
  const reported = new Map<ColmapStage, number>();
  for (const step of buildPipeline(settings, layout, total)) {
    ctx.progress(step.stage, 0, `Running ${step.command}`);
    reported.set(step.stage, 0);
    const result = await runStep(step.args, (line) => {
      if (step.stage === 'extracting') extraction.feed(line);
      if (step.stage === 'mapping') registration.feed(line);
      const update = parseProgressLine(line, total);
      // Progress never goes back, even when the mapper starts a second sub-model from scratch.
      if (update && update.stage === step.stage && update.fraction > (reported.get(step.stage) ?? 0)) {
        reported.set(step.stage, update.fraction);
        ctx.progress(update.stage, update.fraction, update.message);
      }
    });
    if (step.stage === 'extracting' && extraction.failures.length > 0) throw unreadableImagesError(extraction.failures, total);
    // The mapper exits with an error when no model survived; a crash (a signal) is reported as such.
    if (step.stage === 'mapping' && result.signal === null) {
      const [best] = await listSubModels(layout.sparsePath);
      if (!best || best.registeredImages < 2) throw registrationError(registration.best, total);
    }
    if (result.code !== 0) throw stepFailedError(step.command, result.code, result.signal, result.tail);
    ctx.progress(step.stage, 1);
  }
  await exportArtifacts(ctx, settings, layout, runStep, options.signal);
}

async function exportArtifacts(
  ctx: EngineContext<ColmapSettings>,
  settings: ColmapSettings,
  layout: PreparedLayout,
  runStep: StepRunner,
  signal: AbortSignal,
): Promise<void> {
  ctx.progress('exporting', 0, 'Converting the model');
  const [best, ...others] = await listSubModels(layout.sparsePath);
  if (!best) throw registrationError(0, layout.names.length);
  for (const other of others) ctx.log(`COLMAP also built a separate sub-model of ${other.registeredImages} images (${other.path}); keeping the largest, ${best.path}`);

  const modelDir = join(layout.exportPath, 'sparse', '0');
  await mkdir(modelDir, { recursive: true });
  for (const file of ['cameras.bin', 'images.bin', 'points3D.bin']) await copyFile(join(best.path, file), join(modelDir, file));
  const converted = await runStep(modelConverterArgs(modelDir, modelDir, 'TXT'));
  if (converted.code !== 0) throw stepFailedError('model_converter', converted.code, converted.signal, converted.tail);

  const model = await readColmapModel(modelDir);
  const images = registeredImages(model, layout.names);
  const points = sparsePoints(model);
  const missing = layout.names.filter((name) => !images.some((i) => i.name === name));
  ctx.log(`COLMAP registered ${images.length} of ${layout.names.length} images, ${points.errors.length} points`);
  if (missing.length > 0) ctx.log(`Not registered: ${missing.join(', ')}`);

  const steps: [kind: ArtifactKind, file: string, write: (path: string) => Promise<unknown>][] = [
    ['predictions', 'predictions.npz', (path) => writePredictions(path, images, points)],
    ['glb', 'scene.glb', (path) => writeSceneGlb(path, images, points, settings)],
    ['ply', 'points.ply', (path) => writePly(path, points)],
    ['colmap', 'colmap.zip', (path) => zipFolder(layout.exportPath, path)],
  ];
  for (const [index, [kind, file, write]] of steps.entries()) {
    signal.throwIfAborted();
    const path = join(ctx.workDir, file);
    await write(path);
    await ctx.putArtifact(kind, path);
    ctx.progress('exporting', (index + 1) / steps.length, `Wrote ${file}`);
  }
}

function createStepRunner(ctx: EngineContext<ColmapSettings>, layout: PreparedLayout, options: RunnerOptions & { signal: AbortSignal }): StepRunner {
  const env = { ...process.env, QT_QPA_PLATFORM: 'offscreen', GLOG_logtostderr: '1', GLOG_log_dir: layout.logsPath };
  return async (args, onLine) => {
    const tail: string[] = [];
    const started = performance.now();
    ctx.log(`$ colmap ${args.join(' ')}`);
    const result = await runProcess(options.binary, args, {
      env,
      cwd: ctx.workDir,
      signal: options.signal,
      killGraceMs: options.killGraceMs,
      onLine: (line) => {
        ctx.log(line);
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        onLine?.(line);
      },
    }).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? notInstalledError(options.binary, error) : error;
    });
    options.signal.throwIfAborted();
    ctx.log(`${args[0]} ended after ${((performance.now() - started) / 1000).toFixed(1)} s with exit code ${result.code ?? result.signal}`);
    return { code: result.code, signal: result.signal, tail };
  };
}
