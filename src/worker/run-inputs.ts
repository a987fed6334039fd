import { join } from 'node:path';
import type { BlobStore } from '../blobs/blob-store.ts';
import { compareNames } from '../core/image-names.ts';
import type { RunsRepository } from '../db/runs-repository.ts';
import { frameKey, imageKey } from '../domain/artifacts.ts';
import { videoSettings } from '../domain/base-settings.ts';
import { extractFrames } from '../engines/video/extract-frames.ts';
import { isVideoType } from '../formats/video-type.ts';

export interface InputReport {
  progress(step: string, fraction: number, message: string): void;
  log(line: string): void;
}

/** A video's frames are named after it: `walk.mp4` → `walk-mp4-f0001.jpg`, … */
export const framePrefix = (videoName: string) => videoName.replace(/[^A-Za-z0-9_-]+/g, '-');

/**
 * The local files an engine reads: the run's images, and for each uploaded video its frames.
 * A video becomes frames once (the first stage that needs them extracts them with ffmpeg, with
 * that stage's video settings); the frames are kept in the run's storage, so later stages and
 * retries — on any machine — read the same frames.
 */
export class RunInputs {
  readonly #runs: Pick<RunsRepository, 'images'>;
  readonly #blobs: BlobStore;

  constructor(deps: { runs: Pick<RunsRepository, 'images'>; blobs: BlobStore }) {
    this.#runs = deps.runs;
    this.#blobs = deps.blobs;
  }

  /** Local paths in sorted name order (frames sort with their video). */
  async local(runId: string, settings: Record<string, unknown>, workDir: string, report: InputReport, signal: AbortSignal): Promise<string[]> {
    const inputsDir = join(workDir, 'inputs');
    const paths: string[] = [];
    for (const image of await this.#runs.images(runId)) {
      if (!isVideoType(image.contentType)) paths.push(await this.#blobs.localPath(runId, imageKey(image.name), inputsDir));
      else paths.push(...(await this.#frames(runId, image.name, settings, workDir, report, signal)));
    }
    return paths.sort((a, b) => compareNames(a.slice(a.lastIndexOf('/') + 1), b.slice(b.lastIndexOf('/') + 1)));
  }

  async #frames(runId: string, video: string, settings: Record<string, unknown>, workDir: string, report: InputReport, signal: AbortSignal): Promise<string[]> {
    const prefix = framePrefix(video);
    const stored = (await this.#blobs.list(runId, 'frames')).filter((key) => key.startsWith(`frames/${prefix}-f`)).sort();
    if (!stored.length) {
      const extracted = await extractFrames(await this.#blobs.localPath(runId, imageKey(video), join(workDir, 'inputs')), join(workDir, 'frames'), prefix, videoSettings.parse(settings), {
        signal,
        log: report.log,
        progress: (fraction, message) => report.progress('extracting frames', fraction, message),
      });
      for (const frame of extracted) {
        const key = frameKey(frame.slice(frame.lastIndexOf('/') + 1));
        await this.#blobs.putFile(runId, key, frame);
        stored.push(key);
      }
    }
    return Promise.all(stored.map((key) => this.#blobs.localPath(runId, key, join(workDir, 'inputs'))));
  }
}
