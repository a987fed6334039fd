import type { Readable } from 'node:stream';

export interface BlobInfo {
  bytes: number;
  etag: string;
  modifiedAt: Date;
}

/**
 * Where a run's files live: `runs/<runId>/images/…`, `scene.glb`, `metadata.json`, … Writes are
 * atomic (a reader never sees half a file). Local disk now; the same interface fits S3.
 */
export interface BlobStore {
  /** Moves (or uploads) a local file into place as `key`; the source file is consumed. */
  putFile(runId: string, key: string, localFile: string): Promise<BlobInfo>;
  writeJson(runId: string, key: string, value: unknown): Promise<void>;
  stat(runId: string, key: string): Promise<BlobInfo | undefined>;
  read(runId: string, key: string, range?: { start: number; end: number }): Readable;
  /** A path on this machine holding the blob; remote stores download it under `scratchDir`. */
  localPath(runId: string, key: string, scratchDir: string): Promise<string>;
  list(runId: string, prefix: string): Promise<string[]>;
  copy(fromRunId: string, toRunId: string, key: string): Promise<void>;
  remove(runId: string, key: string): Promise<void>;
  deleteRun(runId: string): Promise<void>;
}
