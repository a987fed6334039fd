import type { Camera } from './camera.ts';
import { createExecutor, resolveThreads } from './executors.ts';
import type { Executor } from './executor.ts';
import { type GaussianCloud, loadCloud } from './gaussian-cloud.ts';
import { psnr, workspaceSsim } from './metrics.ts';
import { renderPass, setCamera } from './render-pass.ts';
import type { RenderedImage, View } from './view.ts';
import { Workspace } from './workspace.ts';

export interface ViewScore {
  name: string;
  psnr: number;
  ssim: number;
}

/** Mean PSNR (dB) and SSIM over the views, and each view's. */
export interface Evaluation {
  psnr: number;
  ssim: number;
  views: ViewScore[];
}

export interface RendererDeps {
  workspace: Workspace;
  executor: Executor;
  /** How many Gaussians, which SH degree and background to draw with (the trainer's current state). */
  state: () => { count: number; shDegree: number; background: readonly [number, number, number] };
}

/** Renders and scores any camera over a workspace's Gaussians. */
export class SplatRenderer {
  readonly #deps: RendererDeps;

  constructor(deps: RendererDeps) {
    this.#deps = deps;
  }

  async render(camera: Camera): Promise<RenderedImage> {
    await this.#draw(camera);
    const { image } = this.#deps.workspace.a;
    return { width: camera.width, height: camera.height, rgb: Float32Array.from(image.subarray(0, camera.width * camera.height * 3)) };
  }

  async evaluate(views: readonly View[]): Promise<Evaluation> {
    const { workspace, executor } = this.#deps;
    const scores: ViewScore[] = [];
    for (const view of views) {
      await this.#draw(view.camera);
      const n = view.camera.width * view.camera.height * 3;
      if (view.image.length !== n) throw new Error(`view ${view.name}: image has ${view.image.length} values, camera needs ${n}`);
      workspace.a.target.set(view.image);
      const p = psnr(workspace.a.image, view.image, n);
      scores.push({ name: view.name, psnr: p, ssim: await workspaceSsim(workspace, executor) });
    }
    const mean = (key: 'psnr' | 'ssim') => scores.reduce((s, v) => s + v[key], 0) / Math.max(1, scores.length);
    return { psnr: mean('psnr'), ssim: mean('ssim'), views: scores };
  }

  async #draw(camera: Camera): Promise<void> {
    const { workspace, executor, state } = this.#deps;
    setCamera(workspace, camera, state());
    await renderPass(workspace, executor);
  }
}

export interface StandaloneRenderer extends SplatRenderer {
  close(): Promise<void>;
}

/** A renderer over its own copy of `cloud`; close() stops its threads. */
export function createRenderer(cloud: GaussianCloud, options: { threads?: number; background?: [number, number, number]; inline?: boolean } = {}): StandaloneRenderer {
  const workspace = new Workspace({ threads: resolveThreads(options.threads ?? 0), maxShDegree: cloud.shDegree });
  loadCloud(workspace, cloud);
  const executor = createExecutor(workspace, options.inline);
  const background = options.background ?? [0, 0, 0];
  const renderer = new SplatRenderer({ workspace, executor, state: () => ({ count: cloud.count, shDegree: cloud.shDegree, background }) });
  return Object.assign(renderer, { close: () => executor.close() });
}

/** PSNR and SSIM of `cloud` rendered from each view's camera against its photo. */
export async function evaluate(cloud: GaussianCloud, views: readonly View[], options: { threads?: number; background?: [number, number, number] } = {}): Promise<Evaluation> {
  const renderer = createRenderer(cloud, options);
  try {
    return await renderer.evaluate(views);
  } finally {
    await renderer.close();
  }
}
