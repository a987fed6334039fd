import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store.ts';
import type { PredictionsService } from '../core/predictions-service.ts';
import type { RunExecution, RunLease } from '../core/run-execution.ts';
import { ARTIFACT_FILES, thumbnailKey } from '../domain/artifacts.ts';
import type { EngineContext } from '../engines/engine.ts';
import { summarizeGlb } from '../formats/glb-summary.ts';
import { compressGlb } from './compress-glb.ts';
import { type PreviewIntrinsics, renderPreview } from './preview.ts';
import { writeThumbnail } from './thumbnails.ts';

export interface PostProcessOptions {
  previewWidth: number;
  /** scene.glb files larger than this get a compressed copy. */
  compressGlbBytes: number;
}

/**
 * What happens after an engine succeeded, before the run completes: a preview from the first
 * camera, input thumbnails, GLB metadata, and a compressed GLB when the scene is large. Each
 * step is on its own: a failure is logged and recorded as an unavailable artifact, never a
 * failed run.
 */
export class PostProcessor {
  readonly #blobs: BlobStore;
  readonly #execution: RunExecution;
  readonly #predictions: PredictionsService;
  readonly #options: PostProcessOptions;

  constructor(deps: { blobs: BlobStore; execution: RunExecution; predictions: PredictionsService; options: PostProcessOptions }) {
    this.#blobs = deps.blobs;
    this.#execution = deps.execution;
    this.#predictions = deps.predictions;
    this.#options = deps.options;
  }

  /** Thumbnails of the inputs; can run beside the engine. Never throws: post-processing cannot fail a run. */
  async inputs(ctx: EngineContext<unknown>, log: Logger): Promise<void> {
    await this.step('thumbnails', log, async () => {
      const dir = join(ctx.workDir, 'postprocess', 'thumbs');
      await mkdir(dir, { recursive: true });
      await this.thumbnails(ctx, dir);
    });
  }

  /** What comes from the engine's scene.glb: metadata, preview, compression. Never throws. */
  async outputs(ctx: EngineContext<unknown>, lease: RunLease, log: Logger): Promise<void> {
    const dir = join(ctx.workDir, 'postprocess');
    await mkdir(dir, { recursive: true });
    let glb: Buffer | undefined;
    await this.step('reading scene.glb', log, async () => {
      if (await this.#blobs.stat(ctx.runId, ARTIFACT_FILES.glb)) glb = await readFile(await this.#blobs.localPath(ctx.runId, ARTIFACT_FILES.glb, dir));
    });
    if (!glb) {
      await this.step('preview', log, () => ctx.markUnavailable('preview', 'the run produced no scene.glb to render'));
      return;
    }
    await this.afterGlb(ctx, lease, log, dir, glb);
  }

  private async afterGlb(ctx: EngineContext<unknown>, lease: RunLease, log: Logger, dir: string, glb: Buffer) {
    await this.step('glb metadata', log, async () => {
      await this.#execution.recordGlbMetadata(lease, { ...(await summarizeGlb(glb)), bytes: glb.length });
    });
    await this.step('preview', log, async () => {
      if (await this.#blobs.stat(ctx.runId, ARTIFACT_FILES.preview)) return; // the engine made its own
      const { jpeg } = await renderPreview(glb, { width: this.#options.previewWidth, intrinsics: await this.firstIntrinsics(ctx.runId) });
      const file = join(dir, 'preview.jpg');
      await writeFile(file, jpeg);
      await ctx.putArtifact('preview', file);
    }, (reason) => ctx.markUnavailable('preview', reason));
    if (glb.length > this.#options.compressGlbBytes) {
      await this.step('glb compression', log, async () => {
        const file = join(dir, 'scene.meshopt.glb');
        await writeFile(file, await compressGlb(glb));
        await ctx.putArtifact('glb-compressed', file);
      }, (reason) => ctx.markUnavailable('glb-compressed', reason));
    }
  }

  private async thumbnails(ctx: EngineContext<unknown>, dir: string) {
    const failed: string[] = [];
    for (const input of ctx.inputs) {
      ctx.signal.throwIfAborted();
      const name = basename(input);
      const file = join(dir, `thumb-${name}.jpg`);
      try {
        await writeThumbnail(input, file);
        await this.#blobs.putFile(ctx.runId, thumbnailKey(name), file);
      } catch {
        failed.push(name);
      }
    }
    if (failed.length) ctx.log(`no thumbnail for ${failed.length} image(s) sharp cannot decode: ${failed.slice(0, 5).join(', ')}`);
  }

  /** The first camera's intrinsics from predictions.npz, when the engine wrote them. */
  private async firstIntrinsics(runId: string): Promise<PreviewIntrinsics | undefined> {
    const cameras = await this.#predictions.cameras(runId).catch(() => undefined);
    const k = cameras?.cameras[0]?.intrinsic;
    if (!k || !(k[0]![0]! > 0) || !(k[0]![2]! > 0) || !(k[1]![2]! > 0)) return undefined;
    return { fx: k[0]![0]!, fy: k[1]![1]!, cx: k[0]![2]!, cy: k[1]![2]! };
  }

  private async step(name: string, log: Logger, work: () => Promise<void>, onFailure?: (reason: string) => Promise<void>) {
    try {
      await work();
    } catch (error) {
      const reason = `post-processing (${name}) failed: ${(error as Error)?.message ?? String(error)}`;
      log.warn({ err: error }, reason);
      await onFailure?.(reason).catch((e) => log.warn({ err: e }, 'could not record an unavailable artifact'));
    }
  }
}

