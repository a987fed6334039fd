import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { baseSettings } from '../../domain/base-settings.ts';
import type { Engine, EngineCheck, EngineContext } from '../engine.ts';
import { publishPredictions } from '../predictions-scene.ts';
import { notConfiguredError } from './errors.ts';
import { parseWorkerLine } from './protocol.ts';
import { VggtWorker, type WorkerEvent } from './worker-process.ts';

export const WORKER_SCRIPT = fileURLToPath(new URL('./worker.py', import.meta.url));

export const vggtLocalSettings = baseSettings.extend({
  frameFilter: z.number().int().min(0).max(100_000).optional().describe('Show only this frame (0-based, sorted filename order) in scene.glb'),
});
export type VggtLocalSettings = z.infer<typeof vggtLocalSettings>;

export interface VggtLocalOptions {
  /** VGGT_WEIGHTS: a checkpoint file or a Hugging Face model id; unset = unusable. */
  weights: string | undefined;
  /** VGGT_PYTHON (default python3). */
  python?: string;
  timeoutMs?: number;
  loadTimeoutMs?: number;
  allowCpu?: boolean;
  /** The worker's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** How long a check() result is reused. */
  checkCacheMs?: number;
}

export type VggtLocalEngine = Engine<VggtLocalSettings> & {
  /** The persistent worker (one per engine instance, so one per process). */
  readonly worker: VggtWorker;
  close(): Promise<void>;
};

/** VGGT on a GPU this machine owns: a warm worker.py serving runs one at a time. */
export function createVggtLocalEngine(options: VggtLocalOptions): VggtLocalEngine {
  const python = options.python ?? 'python3';
  const timeoutMs = options.timeoutMs ?? 900_000;
  const allowCpu = options.allowCpu ?? false;
  const worker = new VggtWorker({
    python,
    script: WORKER_SCRIPT,
    weights: options.weights ?? '',
    allowCpu,
    env: options.env,
    loadTimeoutMs: options.loadTimeoutMs ?? 1_800_000,
  });
  let cached: { at: number; check: Promise<EngineCheck> } | undefined;
  const checkCacheMs = options.checkCacheMs ?? 60_000;

  return {
    id: 'vggt-local',
    concurrency: 1,
    title: 'VGGT (your GPU)',
    description:
      'VGGT (Visual Geometry Grounded Transformer, Meta) on a GPU of yours: cameras, depth and point maps for all photos in one forward pass. Needs Python with torch + vggt and the weights (VGGT_WEIGHTS); the model stays loaded between runs.',
    settings: vggtLocalSettings,
    limits: { minImages: 1, maxImages: 200 },
    produces: ['glb', 'predictions'],
    worker,
    check() {
      if (!options.weights) {
        return Promise.resolve({
          ok: false,
          reason: 'VGGT_WEIGHTS is not set: point it at a VGGT checkpoint file (model.pt) or a Hugging Face model id (facebook/VGGT-1B)',
        });
      }
      if (worker.warm) return Promise.resolve({ ok: true });
      if (!cached || Date.now() - cached.at > checkCacheMs) {
        cached = { at: Date.now(), check: checkInstallation(python, options.weights, allowCpu, options.env) };
      }
      return cached.check;
    },
    async run(ctx) {
      if (!options.weights) throw notConfiguredError();
      const settings = vggtLocalSettings.parse(ctx.settings);
      if (settings.maskSky) ctx.log('maskSky is not available in vggt-local (it has no sky segmentation model); ignored');
      const predictions = join(ctx.workDir, 'predictions.npz');
      const result = await worker.run(ctx.inputs, predictions, { signal: ctx.signal, timeoutMs, onEvent: (event) => report(ctx, event, options.weights!) });
      ctx.log(`VGGT predicted ${result.frames} frames at ${result.width}x${result.height} in ${result.seconds.toFixed(2)} s`);
      await publishPredictions(ctx, predictions, settings);
    },
    close: () => worker.close(),
  };
}

function report(ctx: EngineContext<VggtLocalSettings>, event: WorkerEvent, weights: string): void {
  switch (event.type) {
    case 'waiting':
      ctx.progress('waiting_for_gpu', 0, 'Another run is using the VGGT worker; waiting for it');
      break;
    case 'starting':
      ctx.log(`Starting the VGGT worker: ${event.command} (weights ${weights})`);
      ctx.progress('loading_model', 0, 'Starting the VGGT worker and loading the model');
      break;
    case 'ready': {
      const { loadSeconds, device, dtype, gpu } = event.ready;
      ctx.log(`VGGT model loaded in ${loadSeconds.toFixed(2)} s on ${device}${gpu ? ` (${gpu})` : ''}, ${dtype}`);
      ctx.progress('loading_model', 1, `Model loaded in ${loadSeconds.toFixed(2)} s`);
      break;
    }
    case 'warm':
      ctx.log(
        `VGGT worker is warm (model loaded in ${event.ready.loadSeconds.toFixed(2)} s, up ${event.upSeconds.toFixed(0)} s, ${event.runsServed} runs served); skipping model loading`,
      );
      break;
    case 'progress':
      ctx.progress(event.stage, event.fraction, event.message);
      break;
    case 'log':
      ctx.log(event.line);
      break;
  }
}

/** Runs `worker.py --check`: is Python there, with torch, CUDA, vggt, and the weights file? */
function checkInstallation(python: string, weights: string, allowCpu: boolean, env: NodeJS.ProcessEnv | undefined): Promise<EngineCheck> {
  const args = [WORKER_SCRIPT, '--check', '--weights', weights, ...(allowCpu ? ['--allow-cpu'] : [])];
  return new Promise((resolve) => {
    execFile(python, args, { env: env ?? process.env, timeout: 60_000 }, (error, stdout, stderr) => {
      const line = stdout.split('\n').map(parseWorkerLine).find((m) => m?.type === 'check');
      if (line?.type === 'check') {
        resolve(line.ok ? { ok: true } : { ok: false, reason: `${line.message} (VGGT_PYTHON=${python})` });
        return;
      }
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT') resolve({ ok: false, reason: `Python not found: VGGT_PYTHON is "${python}", which cannot be started` });
      else resolve({ ok: false, reason: `"${python} worker.py --check" failed: ${error?.message ?? 'no answer'} ${stderr.trim().split('\n').slice(-2).join(' ')}`.trim() });
    });
  });
}
