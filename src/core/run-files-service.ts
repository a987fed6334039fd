import type { Readable } from 'node:stream';
import type { BlobStore } from '../blobs/blob-store.ts';
import { ARTIFACT_CONTENT_TYPES, ARTIFACT_FILES, type ArtifactKind, frameKey, imageKey, thumbnailKey } from '../domain/artifacts.ts';
import { artifactNotFound, imageNotFound, thumbnailNotFound } from '../domain/problems.ts';
import { detectImageType, IMAGE_SNIFF_BYTES } from '../formats/image-type.ts';
import { detectVideoType } from '../formats/video-type.ts';
import type { RunsService } from './runs-service.ts';

/** One stored file of a run, ready to be served: what it is, and how to read it (or a part). */
export interface StoredFile {
  bytes: number;
  etag: string;
  modifiedAt: Date;
  contentType: string;
  /** The name a download is saved under. */
  fileName: string;
  read(range?: { start: number; end: number }): Readable;
  /** Where to send the client instead (a short-lived presigned URL of the bucket), when downloads are redirected. */
  redirectUrl?: string;
}

/**
 * Reads of a run's stored files for downloads — artifacts, input images, thumbnails — so file
 * access lives in one place (local disk or S3) and routes only shape the HTTP answer.
 */
export class RunFilesService {
  readonly #runs: Pick<RunsService, 'findOwned' | 'get'>;
  readonly #blobs: BlobStore;
  readonly #redirect: boolean;

  /** `redirectDownloads`: artifacts answer with a presigned URL of the store (S3_DOWNLOADS=redirect) instead of passing through. */
  constructor(deps: { runs: Pick<RunsService, 'findOwned' | 'get'>; blobs: BlobStore; redirectDownloads?: boolean }) {
    this.#runs = deps.runs;
    this.#blobs = deps.blobs;
    this.#redirect = deps.redirectDownloads ?? false;
  }

  async artifact(runId: string, kind: ArtifactKind, owner?: string | null): Promise<StoredFile> {
    const run = await this.#runs.findOwned(runId, owner);
    const reason = run.artifacts.unavailable[kind];
    if (reason) throw artifactNotFound(runId, kind, reason);
    const key = ARTIFACT_FILES[kind];
    // Only artifacts the database records are served: a file without its row (a worker that died
    // before recording it) never is.
    const info = run.artifacts.available[kind] ? await this.#blobs.stat(runId, key) : undefined;
    if (!info) throw artifactNotFound(runId, kind);
    const file: StoredFile = { ...info, contentType: ARTIFACT_CONTENT_TYPES[kind], fileName: `${runId}-${key}`, read: (range) => this.#blobs.read(runId, key, range) };
    if (this.#redirect && this.#blobs.downloadUrl) file.redirectUrl = await this.#blobs.downloadUrl(runId, key, file);
    return file;
  }

  /** An input image or video, or a frame taken from a video (the names the run's cameras carry). */
  async image(runId: string, name: string, owner?: string | null): Promise<StoredFile> {
    // Only names the run actually holds are served, so no key is ever built from raw input.
    const run = await this.#runs.get(runId, owner);
    const key = run.images.includes(name) ? imageKey(name) : (await this.#blobs.list(runId, 'frames')).find((k) => k === frameKey(name));
    if (!key) throw imageNotFound(runId, name);
    const info = await this.#blobs.stat(runId, key);
    if (!info) throw imageNotFound(runId, name);
    const head = await readAll(this.#blobs.read(runId, key, { start: 0, end: IMAGE_SNIFF_BYTES - 1 }));
    const contentType = (detectImageType(head) ?? detectVideoType(head))?.mime ?? 'application/octet-stream';
    return { ...info, contentType, fileName: name, read: (range) => this.#blobs.read(runId, key, range) };
  }

  async thumbnail(runId: string, name: string, owner?: string | null): Promise<StoredFile> {
    await this.#runs.findOwned(runId, owner);
    const key = thumbnailKey(name);
    const info = await this.#blobs.stat(runId, key);
    if (!info) throw thumbnailNotFound(runId, name);
    return { ...info, contentType: 'image/jpeg', fileName: `${name}.jpg`, read: (range) => this.#blobs.read(runId, key, range) };
  }
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}
