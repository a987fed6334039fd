import { writeSplatPly } from '../formats/splat-ply.ts';
import type { Camera } from './camera.ts';
import { cameraCenter } from './camera.ts';
import { writeCheckpoint } from './checkpoint.ts';
import { refine, resetOpacities } from './densify.ts';
import type { Executor } from './executor.ts';
import { createExecutor, resolveThreads } from './executors.ts';
import { type GaussianCloud, loadCloud, readCloud } from './gaussian-cloud.ts';
import { emptyTimings, lossAndGradients, type StepTimings } from './gradient-pass.ts';
import { gaussiansFromPoints, type SeedPoints } from './initialize.ts';
import { type Evaluation, SplatRenderer } from './renderer.ts';
import { setCamera } from './render-pass.ts';
import { Rng } from './rng.ts';
import { resolveSplatSettings, type SplatSettings } from './settings.ts';
import type { TrainerState } from './trainer-state.ts';
import type { RenderedImage, View } from './view.ts';
import { FRAME, Workspace } from './workspace.ts';

export interface StepResult {
  /** Steps done so far (1 after the first). */
  iteration: number;
  loss: number;
  l1: number;
  ssim: number;
  gaussians: number;
  view: string;
}

export interface TrainOptions {
  /** Stop after this many steps in total (default: the settings' iterations). */
  until?: number;
  /** Checked between steps: training stops and train() rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called every `progressEvery` steps (default 10) and after the last. */
  onProgress?: (progress: StepResult) => void | Promise<void>;
  progressEvery?: number;
  /** Every `checkpointEvery` steps, a checkpoint is written to `checkpointPath` and onCheckpoint called. */
  checkpointEvery?: number;
  checkpointPath?: string;
  onCheckpoint?: (path: string, iteration: number) => void | Promise<void>;
}

export interface CreateTrainerOptions {
  /** Training views only (hold the test views out with splitViews). */
  views: readonly View[];
  /** Seed points (e.g. the SfM model's), or a cloud to continue from. */
  points?: SeedPoints;
  gaussians?: GaussianCloud;
  /** Anything resolveSplatSettings accepts (a preset plus overrides), or resolved settings. */
  settings?: unknown;
  seed?: number;
  /** Run the kernels on this thread instead of worker threads (same split, same results). */
  inline?: boolean;
}

/**
 * 3D Gaussian Splatting optimisation on the CPU: one view per step (shuffled each epoch),
 * loss (1 − w)·L1 + w·D-SSIM, Adam, gsplat's default densification, SH degree raised on a
 * schedule. Seeded: the same inputs, seed and thread count give the same Gaussians.
 */
export class Trainer {
  readonly settings: SplatSettings;
  readonly timings: StepTimings = emptyTimings();
  readonly #views: readonly View[];
  readonly #workspace: Workspace;
  readonly #executor: Executor;
  readonly #renderer: SplatRenderer;
  readonly #rng: Rng;
  readonly #sceneScale: number;
  #step = 0;
  #count: number;
  #epochOrder: number[] = [];
  #epochPosition = 0;

  /** Use createTrainer / restoreTrainer. */
  constructor(deps: { views: readonly View[]; workspace: Workspace; executor: Executor; settings: SplatSettings; rng: Rng; count: number; sceneScale: number }) {
    this.settings = deps.settings;
    this.#views = deps.views;
    this.#workspace = deps.workspace;
    this.#executor = deps.executor;
    this.#rng = deps.rng;
    this.#count = deps.count;
    this.#sceneScale = deps.sceneScale;
    this.#renderer = new SplatRenderer({ workspace: deps.workspace, executor: deps.executor, state: () => this.#drawState() });
  }

  get iteration(): number {
    return this.#step;
  }

  get gaussianCount(): number {
    return this.#count;
  }

  get sceneScale(): number {
    return this.#sceneScale;
  }

  /** The SH degree in use at the current step. */
  get shDegree(): number {
    return Math.min(this.settings.shDegree, Math.floor(this.#step / this.settings.shDegreeInterval));
  }

  /** One optimisation step on the next training view. */
  async step(): Promise<StepResult> {
    const s = this.settings;
    const step = this.#step;
    const ws = this.#workspace;
    const view = this.#views[this.#nextView()]!;
    setCamera(ws, view.camera, { count: this.#count, shDegree: this.shDegree, background: s.background });
    const f = ws.a.frame;
    f[FRAME.ssimWeight] = s.ssimWeight;
    f[FRAME.accumulate] = step < s.refineStop ? 1 : 0;
    const lrs = [s.lrMeans * this.#sceneScale * s.lrMeansFinal ** (step / s.iterations), s.lrScales, s.lrQuats, s.lrOpacities, s.lrSh0, s.lrShN];
    for (let g = 0; g < lrs.length; g++) f[FRAME.lr + g] = lrs[g]!;
    f[FRAME.beta1] = s.adamBeta1;
    f[FRAME.beta2] = s.adamBeta2;
    f[FRAME.epsilon] = s.adamEpsilon;
    f[FRAME.adamStep] = step + 1;
    ws.a.target.set(view.image);

    const result = await lossAndGradients(ws, this.#executor, this.timings);
    let t = performance.now();
    await this.#executor.run('adam');
    this.timings.adam += performance.now() - t;
    t = performance.now();
    // gsplat's post-backward schedule (its steps count from 0 like ours).
    if (step < s.refineStop) {
      if (step > s.refineStart && step % s.refineEvery === 0) {
        this.#count = refine(ws, this.#count, step, s, this.#sceneScale, this.#rng).count;
      }
      if (step > 0 && step % s.resetEvery === 0) resetOpacities(ws, this.#count, s.pruneOpacity);
    }
    this.timings.densify += performance.now() - t;
    this.#step++;
    return { iteration: this.#step, loss: result.loss, l1: result.l1, ssim: result.ssim, gaussians: this.#count, view: view.name };
  }

  /** Steps until `until` (default: the settings' iterations), with progress, checkpoints and cancellation. */
  async train(options: TrainOptions = {}): Promise<StepResult | undefined> {
    const until = options.until ?? this.settings.iterations;
    const progressEvery = options.progressEvery ?? 10;
    let last: StepResult | undefined;
    while (this.#step < until) {
      options.signal?.throwIfAborted();
      last = await this.step();
      if (options.onProgress && (last.iteration % progressEvery === 0 || last.iteration === until)) await options.onProgress(last);
      if (options.checkpointEvery && options.checkpointPath && last.iteration % options.checkpointEvery === 0 && last.iteration < until) {
        await this.saveCheckpoint(options.checkpointPath);
        await options.onCheckpoint?.(options.checkpointPath, last.iteration);
      }
      // Lets timers, I/O and the abort signal through between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return last;
  }

  render(camera: Camera): Promise<RenderedImage> {
    return this.#renderer.render(camera);
  }

  evaluate(views: readonly View[]): Promise<Evaluation> {
    return this.#renderer.evaluate(views);
  }

  /** A float32 copy of the current Gaussians (raw parameters, the PLY's). */
  gaussians(): GaussianCloud {
    return readCloud(this.#workspace, this.#count);
  }

  /** Writes the current Gaussians as a standard 3DGS PLY, in the cameras' world frame. */
  toPly(path: string): Promise<void> {
    return writeSplatPly(path, this.gaussians());
  }

  async saveCheckpoint(path: string): Promise<void> {
    await writeCheckpoint(path, this.#workspace, this.state());
  }

  state(): TrainerState {
    return {
      step: this.#step,
      count: this.#count,
      sceneScale: this.#sceneScale,
      threads: this.#workspace.threads,
      epochOrder: [...this.#epochOrder],
      epochPosition: this.#epochPosition,
      rng: this.#rng.state,
      settings: this.settings,
    };
  }

  /** Puts the step, order and RNG back (the arrays are already in the workspace). */
  resume(state: TrainerState): void {
    this.#step = state.step;
    this.#count = state.count;
    this.#epochOrder = [...state.epochOrder];
    this.#epochPosition = state.epochPosition;
    this.#rng.state = state.rng;
  }

  /** Stops the worker threads. */
  close(): Promise<void> {
    return this.#executor.close();
  }

  #nextView(): number {
    if (this.#epochPosition >= this.#epochOrder.length) {
      this.#epochOrder = this.#rng.permutation(this.#views.length);
      this.#epochPosition = 0;
    }
    return this.#epochOrder[this.#epochPosition++]!;
  }

  #drawState() {
    return { count: this.#count, shDegree: this.shDegree, background: this.settings.background };
  }
}

/** A trainer over `views`, seeded from `points` (or an existing cloud). */
export function createTrainer(options: CreateTrainerOptions): Trainer {
  const settings = isResolved(options.settings) ? options.settings : resolveSplatSettings(options.settings ?? {});
  if (options.views.length === 0) throw new Error('no training views');
  const cloud = options.gaussians ?? (options.points ? gaussiansFromPoints(options.points, { shDegree: settings.shDegree, opacity: settings.initOpacity, scale: settings.initScale }) : undefined);
  if (!cloud) throw new Error('createTrainer needs points or gaussians to start from');
  const workspace = new Workspace({ threads: resolveThreads(settings.threads), maxShDegree: settings.shDegree });
  loadCloud(workspace, cloud);
  return new Trainer({
    views: options.views,
    workspace,
    executor: createExecutor(workspace, options.inline),
    settings,
    rng: new Rng(options.seed ?? 0),
    count: cloud.count,
    sceneScale: sceneScale(options.views.map((v) => v.camera)),
  });
}

/**
 * gsplat's scene scale: 1.1 × the largest distance of a camera centre from their mean; the
 * position learning rate and the size thresholds are relative to it.
 */
export function sceneScale(cameras: readonly Camera[]): number {
  const centers = cameras.map(cameraCenter);
  const mean = [0, 1, 2].map((c) => centers.reduce((s, p) => s + p[c]!, 0) / centers.length);
  const radius = Math.max(...centers.map((p) => Math.hypot(p[0] - mean[0]!, p[1] - mean[1]!, p[2] - mean[2]!)));
  return radius > 1e-9 ? 1.1 * radius : 1;
}

function isResolved(settings: unknown): settings is SplatSettings {
  return typeof settings === 'object' && settings !== null && 'preset' in settings && 'lrMeans' in settings && 'threads' in settings && 'iterations' in settings && 'maxGaussians' in settings;
}
