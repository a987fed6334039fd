import { copyFile, link, mkdir, rm, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { baseSettings } from '../../domain/base-settings.ts';
import { type Engine, type EngineCheck, type EngineContext, EngineError } from '../engine.ts';
import { publishPredictions } from '../predictions-scene.ts';
import { Da3Client, type Da3TaskStatus } from './client.ts';
import { convertDa3Predictions } from './convert.ts';

export const da3Settings = baseSettings.extend({
  confThreshold: z.number().min(0).max(100).default(40).describe('Confidence percentile (0–100): points below it are dropped from the scene (DA3 default 40)'),
  processRes: z.number().int().min(140).max(4096).default(504).describe('Resolution DA3 processes images at (process_res)'),
  processResMethod: z
    .string()
    .regex(/^[a-z_]+$/)
    .default('upper_bound_resize')
    .describe('How images are brought to processRes (the backend\'s process_res_method)'),
  frameFilter: z.number().int().min(0).max(100_000).optional().describe('Show only this frame (0-based, sorted filename order) in scene.glb'),
});
export type Da3Settings = z.infer<typeof da3Settings>;

export interface Da3Options {
  /** DA3_URL; unset = unusable. */
  url: string | undefined;
  /**
   * The backend reads images from and writes results to paths it is given, so Recon stages
   * each run in a folder both can see: DA3_SHARED_DIR here (default: the run's work folder),
   * DA3_BACKEND_DIR as the backend sees it (default: the same path).
   */
  sharedDir?: string | undefined;
  backendDir?: string | undefined;
  pollIntervalMs?: number;
  timeoutMs?: number;
}

/** Consecutive failed polls tolerated before the attempt is given up (and retried). */
const POLL_FAILURES = 5;

export function createDa3Engine(options: Da3Options): Engine<Da3Settings> {
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 1_800_000;
  let cached: { at: number; check: Promise<EngineCheck> } | undefined;
  return {
    id: 'da3',
    title: 'Depth Anything 3',
    description:
      'Depth Anything 3 (ByteDance Seed) through a DA3 backend service you run (DA3_URL): depth, confidence and cameras for every photo, fused into a point cloud. Recon and the backend must share a folder (DA3_SHARED_DIR).',
    settings: da3Settings,
    limits: { minImages: 1, maxImages: 500 },
    produces: ['glb', 'predictions'],
    check() {
      if (!options.url) {
        return Promise.resolve({
          ok: false,
          reason: 'DA3_URL is not set: run a Depth Anything 3 backend (python -m depth_anything_3.services.backend --model-dir depth-anything/DA3NESTED-GIANT-LARGE) and set DA3_URL to its address',
        });
      }
      if (!cached || Date.now() - cached.at > 10_000) cached = { at: Date.now(), check: checkBackend(new Da3Client(options.url)) };
      return cached.check;
    },
    async run(ctx) {
      if (!options.url) throw new EngineError('da3 is not configured on this worker: DA3_URL is not set', { hint: 'Set DA3_URL to the address of your Depth Anything 3 backend' });
      const settings = da3Settings.parse(ctx.settings);
      const client = new Da3Client(options.url);
      const stage = join(options.sharedDir ?? ctx.workDir, `da3-${ctx.runId}-attempt-${ctx.attempt}`);
      try {
        await runDa3(ctx, settings, client, stage, { ...options, pollIntervalMs, timeoutMs });
      } finally {
        // The work folder is removed by the worker; a shared folder is ours to tidy.
        if (options.sharedDir) await rm(stage, { recursive: true, force: true });
      }
    },
  };
}

async function runDa3(
  ctx: EngineContext<Da3Settings>,
  settings: Da3Settings,
  client: Da3Client,
  stage: string,
  options: Da3Options & { pollIntervalMs: number; timeoutMs: number },
): Promise<void> {
  const imagesDir = join(stage, 'images');
  const exportDir = join(stage, 'export');
  await mkdir(imagesDir, { recursive: true });
  await mkdir(exportDir, { recursive: true });
  const staged: string[] = [];
  for (const input of ctx.inputs) {
    const target = join(imagesDir, basename(input));
    await link(input, target).catch(() => copyFile(input, target));
    staged.push(target);
  }
  const remote = (path: string): string => toBackendPath(path, options.sharedDir, options.backendDir);

  ctx.progress('submitting', 0, `Submitting ${staged.length} images to the DA3 backend`);
  const taskId = await client.submit(
    {
      image_paths: staged.map(remote),
      export_dir: remote(exportDir),
      export_format: 'npz',
      process_res: settings.processRes,
      process_res_method: settings.processResMethod,
      conf_thresh_percentile: settings.confThreshold,
      num_max_points: 1_000_000,
      show_cameras: settings.showCameras,
    },
    ctx.signal,
  );
  ctx.log(`DA3 task ${taskId} submitted to ${client.url} (images in ${remote(imagesDir)})`);
  const done = await poll(ctx, client, taskId, options);
  ctx.log(`DA3: ${done.message}`);

  ctx.progress('exporting', 0, 'Converting DA3 results to predictions.npz');
  const results = join(exportDir, 'exports', 'npz', 'results.npz');
  if (!(await stat(results).catch(() => undefined))) {
    throw new EngineError(`The DA3 task completed but ${results} does not exist`, {
      hint: `The backend writes to ${remote(exportDir)}; Recon must see that folder as ${exportDir}. Set DA3_SHARED_DIR (Recon's path) and DA3_BACKEND_DIR (the backend's path) to one shared folder`,
    });
  }
  const predictions = join(ctx.workDir, 'predictions.npz');
  const converted = await convertDa3Predictions(results, predictions);
  ctx.log(`DA3 predicted ${converted.frames} frames at ${converted.width}x${converted.height}; predictions.npz has ${converted.keys.join(', ')}`);
  await publishPredictions(ctx, predictions, settings);
}

async function poll(
  ctx: EngineContext<Da3Settings>,
  client: Da3Client,
  taskId: string,
  options: { pollIntervalMs: number; timeoutMs: number },
): Promise<Da3TaskStatus> {
  const deadline = Date.now() + options.timeoutMs;
  let failures = 0;
  let last = '';
  for (;;) {
    let task: Da3TaskStatus;
    try {
      task = await client.task(taskId, ctx.signal);
      failures = 0;
    } catch (error) {
      // A blip while polling does not lose the task; only a run of failures ends the attempt.
      if (!(error instanceof EngineError) || !error.transient || ++failures >= POLL_FAILURES || /no longer knows/.test(error.message)) throw error;
      ctx.log(`Polling DA3 task ${taskId} failed (${failures}/${POLL_FAILURES}): ${error.message}`);
      await sleep(options.pollIntervalMs * 2 ** failures, undefined, { signal: ctx.signal });
      continue;
    }
    const message = stripTaskPrefix(task.message);
    const key = `${task.status}|${task.progress}|${message}`;
    if (key !== last) {
      last = key;
      if (task.status === 'pending') ctx.progress('queued', 0, message || 'Waiting in the DA3 backend queue');
      else if (task.status === 'running') ctx.progress('inference', clamp(task.progress ?? 0), message);
    }
    if (task.status === 'completed') return { ...task, message };
    if (task.status === 'failed') throw taskFailed(message);
    if (Date.now() > deadline) {
      throw new EngineError(`The DA3 task ${taskId} did not finish within ${Math.round(options.timeoutMs / 1000)} s (last: ${task.status}, ${message})`, {
        hint: 'Raise DA3_TIMEOUT_SECONDS, or send fewer images',
      });
    }
    await sleep(options.pollIntervalMs, undefined, { signal: ctx.signal });
  }
}

function taskFailed(message: string): EngineError {
  if (/out of memory|insufficient gpu memory/i.test(message)) {
    return new EngineError(`The DA3 backend ran out of GPU memory: ${message}`, {
      hint: 'Send fewer images, or lower processRes (e.g. 378)',
    });
  }
  if (/No such file|FileNotFoundError|cannot identify image/i.test(message)) {
    return new EngineError(`The DA3 backend could not read the images: ${message}`, {
      hint: 'The backend reads the images from a folder shared with Recon: set DA3_SHARED_DIR / DA3_BACKEND_DIR so both see the same files',
    });
  }
  return new EngineError(`The DA3 task failed: ${message}`);
}

/** The backend prefixes messages with "[task id] ". */
function stripTaskPrefix(message: string | undefined): string {
  return (message ?? '').replace(/^\[[^\]]+\]\s*/, '');
}

const clamp = (x: number): number => Math.min(1, Math.max(0, x));

export function toBackendPath(path: string, sharedDir: string | undefined, backendDir: string | undefined): string {
  if (!sharedDir || !backendDir) return path;
  const rel = relative(sharedDir, path);
  if (rel.startsWith('..')) return path;
  return `${backendDir.replace(/\/+$/, '')}/${rel.split(sep).join('/')}`;
}

async function checkBackend(client: Da3Client): Promise<EngineCheck> {
  try {
    await client.status(AbortSignal.timeout(5000));
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}
