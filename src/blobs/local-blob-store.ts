import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, readdir, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomToken } from '../domain/ids.ts';
import { assertScopedKey, type BlobArea, RUN_AREA, stagedAt, stagingName } from './blob-keys.ts';
import type { BlobInfo, BlobStore, StagedBlob, StagingSweep } from './blob-store.ts';

function info(bytes: number, modifiedAt: Date): BlobInfo {
  return { bytes, modifiedAt, etag: `"${bytes.toString(16)}-${Math.floor(modifiedAt.getTime()).toString(16)}"` };
}

/** Blobs as files under `<dataDir>/runs/<runId>/`, the seed's storage layout; staging in a folder beside it. */
export class LocalBlobStore implements BlobStore {
  readonly root: string;
  readonly #stagingDir: string;
  readonly #area: BlobArea;

  /**
   * `stagingDir` must be on the same file system as `root`, so putting a staged file in place is a
   * rename. `area` says whose files these are (runs by default).
   */
  constructor(root: string, options: { stagingDir?: string; area?: BlobArea } = {}) {
    this.root = root;
    this.#stagingDir = options.stagingDir ?? join(dirname(root), 'tmp', 'staging');
    this.#area = options.area ?? RUN_AREA;
  }

  /** Refuses anything that could step outside the owner's folder. */
  path(runId: string, key = ''): string {
    assertScopedKey(this.#area, runId, key);
    return join(this.root, runId, key);
  }

  async putFile(runId: string, key: string, localFile: string): Promise<BlobInfo> {
    const target = this.path(runId, key);
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(localFile, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      const temp = `${target}.tmp-${randomToken(6)}`;
      await copyFile(localFile, temp);
      await rename(temp, target);
      await rm(localFile, { force: true });
    }
    const s = await stat(target);
    return info(s.size, s.mtime);
  }

  async putStream(runId: string, key: string, body: Readable): Promise<BlobInfo> {
    this.path(runId, key);
    return this.putStaged(runId, key, await this.stage(body));
  }

  async writeJson(runId: string, key: string, value: unknown): Promise<void> {
    const target = this.path(runId, key);
    await mkdir(dirname(target), { recursive: true });
    const temp = `${target}.tmp-${randomToken(6)}`;
    await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`);
    await rename(temp, target);
  }

  async stat(runId: string, key: string): Promise<BlobInfo | undefined> {
    const s = await stat(this.path(runId, key)).catch(() => undefined);
    return s?.isFile() ? info(s.size, s.mtime) : undefined;
  }

  read(runId: string, key: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.path(runId, key), range);
  }

  async localPath(runId: string, key: string): Promise<string> {
    return this.path(runId, key);
  }

  async list(runId: string, prefix: string): Promise<string[]> {
    const dir = this.path(runId, prefix);
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isFile())
      .map((e) => relative(this.path(runId), join(e.parentPath, e.name)).split('\\').join('/'));
  }

  async copy(fromRunId: string, toRunId: string, key: string): Promise<void> {
    const target = this.path(toRunId, key);
    await mkdir(dirname(target), { recursive: true });
    // Inputs are immutable once stored, so a hard link is a safe, free copy.
    await link(this.path(fromRunId, key), target).catch(() => copyFile(this.path(fromRunId, key), target));
  }

  async remove(runId: string, key: string): Promise<void> {
    await rm(this.path(runId, key), { force: true });
  }

  async deleteRun(runId: string): Promise<void> {
    // A worker may still be rewriting the run's metadata.json just after it ended (the client saw
    // "completed" and deleted at once): a file appearing mid-removal is ENOTEMPTY, retried.
    await rm(this.path(runId), { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  }

  async runIds(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && this.#area.isScope(e.name)).map((e) => e.name);
  }

  async stage(body: Readable): Promise<StagedBlob> {
    const ref = await this.#newStagedPath();
    const out = createWriteStream(ref, { flags: 'wx' });
    try {
      await pipeline(body, out);
    } catch (error) {
      await rm(ref, { force: true });
      throw error;
    }
    return { ref, bytes: out.bytesWritten };
  }

  async stageFile(localFile: string): Promise<StagedBlob> {
    const ref = await this.#newStagedPath();
    // Staged blobs are never written to, so a hard link is a safe, free copy.
    await link(localFile, ref).catch(() => copyFile(localFile, ref));
    return { ref, bytes: (await stat(ref)).size };
  }

  async putStaged(runId: string, key: string, staged: StagedBlob): Promise<BlobInfo> {
    return this.putFile(runId, key, this.#stagedPath(staged));
  }

  async discard(staged: StagedBlob): Promise<void> {
    await rm(this.#stagedPath(staged), { force: true });
  }

  async spaceLeft(): Promise<number> {
    await mkdir(this.root, { recursive: true });
    const fs = await statfs(this.root);
    return fs.bavail * fs.bsize;
  }

  async sweepStaging(olderThan: Date): Promise<StagingSweep> {
    const names = await readdir(this.#stagingDir).catch(() => []);
    let blobs = 0;
    for (const name of names) {
      const at = stagedAt(name);
      if (!at || at >= olderThan) continue;
      await rm(join(this.#stagingDir, name), { force: true });
      blobs++;
    }
    return { blobs, multipartUploads: 0 };
  }

  async #newStagedPath(): Promise<string> {
    await mkdir(this.#stagingDir, { recursive: true });
    return join(this.#stagingDir, stagingName());
  }

  /** A staged ref names a file of this store's staging folder, nothing else. */
  #stagedPath(staged: StagedBlob): string {
    const name = basename(staged.ref);
    if (!stagedAt(name) || staged.ref !== join(this.#stagingDir, name)) throw new Error(`Not a staged blob of this store: ${JSON.stringify(staged.ref)}`);
    return staged.ref;
  }
}
