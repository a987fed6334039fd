import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { isRunId, randomToken } from '../domain/ids.ts';
import type { BlobInfo, BlobStore } from './blob-store.ts';

const SAFE_KEY = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[^\0\\]+$/;

function info(bytes: number, modifiedAt: Date): BlobInfo {
  return { bytes, modifiedAt, etag: `"${bytes.toString(16)}-${Math.floor(modifiedAt.getTime()).toString(16)}"` };
}

/** Blobs as files under `<dataDir>/runs/<runId>/`, the seed's storage layout. */
export class LocalBlobStore implements BlobStore {
  readonly root: string;
  readonly #isScope: (id: string) => boolean;
  /**
   * Files are grouped by scope: a run id by default; `isScope` lets another kind of owner (a
   * blueprint) keep its files in a store of its own under another root.
   */
  constructor(root: string, options: { isScope?: (id: string) => boolean } = {}) {
    this.root = root;
    this.#isScope = options.isScope ?? isRunId;
  }

  /** Refuses anything that could step outside the scope's folder. */
  path(runId: string, key = ''): string {
    if (!this.#isScope(runId)) throw new Error(`Invalid blob scope ${JSON.stringify(runId)}`);
    if (key && (!SAFE_KEY.test(key) || key.startsWith('/'))) throw new Error(`Invalid blob key ${JSON.stringify(key)}`);
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
    await rm(this.path(runId), { recursive: true, force: true });
  }
}
