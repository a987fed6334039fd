import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { BlobStore } from '../blobs/blob-store.ts';
import { imageKey } from '../domain/artifacts.ts';
import { randomToken } from '../domain/ids.ts';
import type { Problem } from '../domain/problem.ts';
import { diskFull, runTooLarge, tooManyImages } from '../domain/problems.ts';
import { checkImage, uploadError } from './image-check.ts';
import { safeImageName } from './image-names.ts';
import type { PlacedImage, RunsService, StagedImage, StoredImages } from './runs-service.ts';

/** One file of an upload, as it arrives. */
export interface IncomingImage {
  originalName: string;
  stream: Readable;
}

/** Limits a stream of uploaded bytes must stay within; `onChunk` turns them into a Problem the moment one is crossed. */
export type ChunkCheck = (bytes: number) => Problem | undefined;

/**
 * Images arriving in requests. Each file streams straight to its place in the blob store (local
 * disk or S3) while its magic bytes and the limits are checked — never a whole file in memory or
 * on local disk first — under a name reserved for it, and the upload becomes part of the run all
 * at once. A refused or cut-off upload leaves no blob behind and does not change the run.
 */
export class ImageUploads {
  readonly #runs: RunsService;
  readonly #blobs: BlobStore;

  constructor(deps: { runs: RunsService; blobs: BlobStore }) {
    this.#runs = deps.runs;
    this.#blobs = deps.blobs;
  }

  /**
   * Streams every file into the run; all of them are added, or none is. A file's upload finishes
   * (the last part, the multipart completion) while the next file already arrives: at most two
   * files are in flight, so memory stays bounded by two uploads' parts.
   */
  async upload(runId: string, owner: string | null | undefined, files: AsyncIterable<IncomingImage>): Promise<StoredImages> {
    const allowance = await this.#runs.uploadAllowance(runId, owner);
    const withinDisk = await this.diskCheck();
    const uploadId = randomToken(12);
    const placed: PlacedImage[] = [];
    const writing: Promise<void>[] = [];
    let failure: unknown;
    let runBytes = 0;
    try {
      for await (const file of files) {
        if (failure) throw failure;
        const original = file.originalName;
        if (placed.length >= allowance.images) {
          throw tooManyImages(`"${original}" would go over the limit of ${allowance.maxImages} images per run`, allowance.maxImages);
        }
        const checked = checkImage(file.stream, original, this.#runs.limits.maxFileBytes, (bytes) => {
          runBytes += bytes;
          if (runBytes > allowance.bytes) return runTooLarge(`The upload goes over the limit of bytes per run at "${original}"`, allowance.maxRunBytes);
          return withinDisk(bytes);
        }, { videos: true });
        let image: PlacedImage;
        try {
          const type = await checked.type;
          const name = await this.#runs.reserveImageName(runId, owner, safeImageName(original, type.extension), uploadId);
          image = { originalName: original, name, bytes: 0, contentType: type.mime };
        } catch (error) {
          checked.body.destroy();
          throw uploadError(error, original);
        }
        placed.push(image);
        const write = this.#blobs.putStream(runId, imageKey(image.name), checked.body).then(
          (info) => {
            image.bytes = info.bytes;
          },
          (error) => {
            failure ??= uploadError(error, original);
          },
        );
        writing.push(write);
        // The next file can start once this one's bytes have all been read; a body that failed
        // (a check refused it, the client went away) first lets its write settle with the reason.
        const bodyRead = await Promise.race([finished(checked.body).then(() => true, () => false), write.then(() => true)]);
        if (!bodyRead) await write;
        if (writing.length >= 2) await writing.shift();
        if (failure) throw failure;
      }
      await Promise.all(writing);
      if (failure) throw failure;
      return await this.#runs.commitReserved(runId, owner, uploadId, placed);
    } catch (error) {
      await Promise.all(writing);
      await Promise.all(placed.map((image) => this.#blobs.remove(runId, imageKey(image.name)).catch(() => {})));
      await this.#runs.releaseReserved(runId, uploadId).catch(() => {});
      // A write's own reason comes first: what multipart says afterwards is only its echo.
      throw failure ?? error;
    }
  }

  /**
   * Streams one file into the blob store's staging area, checked the same way; for uploads whose
   * run does not exist yet (batches). `RunsService.addImages` puts staged images in place.
   */
  async stage(file: IncomingImage, onChunk: ChunkCheck): Promise<StagedImage> {
    const checked = checkImage(file.stream, file.originalName, this.#runs.limits.maxFileBytes, onChunk, { videos: true });
    try {
      const staged = await this.#blobs.stage(checked.body);
      const type = await checked.type;
      return { originalName: file.originalName, safeName: safeImageName(file.originalName, type.extension), staged, bytes: staged.bytes, contentType: type.mime };
    } catch (error) {
      checked.body.destroy();
      throw uploadError(error, file.originalName);
    }
  }

  /** Staged images that will not be added after all. */
  async discard(images: StagedImage[]): Promise<void> {
    await Promise.all(images.map((image) => this.#blobs.discard(image.staged).catch(() => {})));
  }

  /**
   * A check that refuses bytes (507) once the store's disk would fall below the configured floor;
   * a bucket has no such floor. Already below it, the upload is refused before any byte is read.
   */
  async diskCheck(): Promise<ChunkCheck> {
    const floor = this.#runs.limits.minFreeDiskBytes ?? 0;
    const free = floor ? await this.#blobs.spaceLeft() : undefined;
    if (free === undefined) return () => undefined;
    if (free < floor) throw diskFull(floor, free);
    let written = 0;
    return (bytes) => {
      written += bytes;
      return written > free - floor ? diskFull(floor) : undefined;
    };
  }
}
