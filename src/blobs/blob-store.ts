import type { Readable } from 'node:stream';

export interface BlobInfo {
  bytes: number;
  etag: string;
  modifiedAt: Date;
}

/** Bytes held in the store's private staging area: part of no run until `putStaged` puts them in one. */
export interface StagedBlob {
  /** Where the store keeps it (a file path or an object key); opaque to callers. */
  readonly ref: string;
  readonly bytes: number;
}

/** What a sweep of the staging area removed. */
export interface StagingSweep {
  blobs: number;
  /** Unfinished multipart uploads aborted; `unsupported` when the service cannot list them. */
  multipartUploads: number | 'unsupported';
}

export interface DownloadUrlOptions {
  fileName: string;
  contentType: string;
}

/**
 * Where a run's files live: `runs/<runId>/images/…`, `scene.glb`, `metadata.json`, … Writes are
 * atomic (a reader never sees half a file). Local disk or an S3-compatible bucket.
 */
export interface BlobStore {
  /** Moves (or uploads) a local file into place as `key`; the source file is consumed. */
  putFile(runId: string, key: string, localFile: string): Promise<BlobInfo>;
  /**
   * Streams `body` straight to `key` as it arrives (no whole copy in memory or on disk first). The
   * blob appears only once complete; when the write fails (the body errors included), nothing is left.
   */
  putStream(runId: string, key: string, body: Readable): Promise<BlobInfo>;
  writeJson(runId: string, key: string, value: unknown): Promise<void>;
  stat(runId: string, key: string): Promise<BlobInfo | undefined>;
  read(runId: string, key: string, range?: { start: number; end: number }): Readable;
  /** A path on this machine holding the blob; remote stores download it under `scratchDir`. */
  localPath(runId: string, key: string, scratchDir: string): Promise<string>;
  list(runId: string, prefix: string): Promise<string[]>;
  copy(fromRunId: string, toRunId: string, key: string): Promise<void>;
  remove(runId: string, key: string): Promise<void>;
  deleteRun(runId: string): Promise<void>;
  /** Every run id that has blobs, whether or not the database still knows it. */
  runIds(): Promise<string[]>;

  /** Streams `body` into staging as it arrives; when it fails (the body errors included), nothing is left. */
  stage(body: Readable): Promise<StagedBlob>;
  /** Copies a local file into staging; the file stays. */
  stageFile(localFile: string): Promise<StagedBlob>;
  /** Puts a staged blob in place as the run's `key`, atomically; the staged blob is consumed. */
  putStaged(runId: string, key: string, staged: StagedBlob): Promise<BlobInfo>;
  discard(staged: StagedBlob): Promise<void>;
  /** Bytes that can still be written; undefined for a store that does not run out this way (a bucket). */
  spaceLeft(): Promise<number | undefined>;
  /** Removes what crashed processes left in staging before `olderThan`. */
  sweepStaging(olderThan: Date): Promise<StagingSweep>;

  /** A short-lived URL that serves the blob without this server, where the store can make one. */
  downloadUrl?(runId: string, key: string, options: DownloadUrlOptions): Promise<string>;
}
