import { createWriteStream, openAsBlob } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { ARTIFACT_FILES, type ArtifactKind } from '../domain/artifacts.ts';
import { ReconClient, type UploadItem, type UploadProgress, type UploadResult } from './client.ts';

export * from './client.ts';

/** A file on disk as an upload item: a lazily read, file-backed Blob (never loaded whole). */
export async function fileItem(path: string): Promise<UploadItem> {
  return { name: basename(path), data: await openAsBlob(path) };
}

export interface DownloadProgress {
  loaded: number;
  /** From Content-Length; undefined when the server did not say. */
  total: number | undefined;
}

export interface DownloadedFile {
  type: ArtifactKind;
  path: string;
  bytes: number;
}

const fileNameFrom = (disposition: string | null) => /filename="([^"]+)"/.exec(disposition ?? '')?.[1];

/** The SDK plus what only Node can do: upload files by path, download artifacts to disk. */
export class NodeReconClient extends ReconClient {
  /** Like ReconClient.uploadImages, and also takes file paths (streamed from disk). */
  override async uploadImages(
    runId: string,
    items: (string | UploadItem)[],
    options: { onProgress?: (progress: UploadProgress) => void; signal?: AbortSignal } = {},
  ): Promise<UploadResult> {
    const resolved = await Promise.all(items.map((item) => (typeof item === 'string' ? fileItem(item) : item)));
    return super.uploadImages(runId, resolved, options);
  }

  /**
   * Downloads an artifact to `out`: a folder (existing, or written with a trailing slash) gets the
   * server's file name (`<runId>-scene.glb`); anything else is the file path. Written to a temp
   * name and renamed, so a partial download never looks complete.
   */
  async downloadTo(
    runId: string,
    type: ArtifactKind,
    out: string,
    options: { signal?: AbortSignal; onProgress?: (progress: DownloadProgress) => void } = {},
  ): Promise<DownloadedFile> {
    const response = await this.fetchArtifact(runId, type, { ...(options.signal && { signal: options.signal }) });
    const saved = await this.saveResponse(response, out, `${runId}-${ARTIFACT_FILES[type]}`, options);
    return { type, ...saved };
  }

  /**
   * Writes a download's body to `out`: a folder (existing, or written with a trailing slash) gets
   * the server's file name (else `defaultName`); anything else is the file path. Written to a
   * temp name and renamed, so a partial download never looks complete.
   */
  async saveResponse(
    response: Response,
    out: string,
    defaultName: string,
    options: { signal?: AbortSignal; onProgress?: (progress: DownloadProgress) => void } = {},
  ): Promise<{ path: string; bytes: number }> {
    const isDir = /[/\\]$/.test(out) || (await stat(out).then((s) => s.isDirectory(), () => false));
    const path = isDir ? join(out, fileNameFrom(response.headers.get('content-disposition')) ?? defaultName) : out;
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${process.pid}.${Date.now()}.part`;
    const length = Number(response.headers.get('content-length'));
    const total = Number.isFinite(length) && length > 0 ? length : undefined;
    let loaded = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        loaded += chunk.length;
        options.onProgress?.({ loaded, total });
        callback(null, chunk);
      },
    });
    try {
      if (!response.body) throw new Error(`${defaultName} came without a body`);
      await pipeline(
        Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>),
        count,
        createWriteStream(temp),
        ...(options.signal ? [{ signal: options.signal }] : []),
      );
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return { path, bytes: loaded };
  }
}
