import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from '../blobs/blob-store.ts';
import type { StoredFile } from '../core/run-files-service.ts';
import { randomToken } from '../domain/ids.ts';

/**
 * A blueprint's files (photos, region masks, generated images and their masks, exports), kept
 * in the blob store under the blueprint's id — local disk or S3 alike. Small files are handled
 * as buffers; writes go through a scratch file because the store takes files.
 */
export class BlueprintFiles {
  readonly #blobs: BlobStore;
  readonly #scratchDir: string;

  constructor(deps: { blobs: BlobStore; scratchDir: string }) {
    this.#blobs = deps.blobs;
    this.#scratchDir = deps.scratchDir;
  }

  async read(blueprintId: string, key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.#blobs.read(blueprintId, key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  stat(blueprintId: string, key: string) {
    return this.#blobs.stat(blueprintId, key);
  }

  /** A stored file ready to be served (ranges, ETag); undefined when it is not there. */
  async storedFile(blueprintId: string, key: string, contentType: string, fileName: string): Promise<StoredFile | undefined> {
    const info = await this.#blobs.stat(blueprintId, key);
    return info && { ...info, contentType, fileName, read: (range) => this.#blobs.read(blueprintId, key, range) };
  }

  async write(blueprintId: string, key: string, bytes: Uint8Array): Promise<void> {
    const file = await this.scratchFile(key.split('/').pop() ?? 'blob');
    await writeFile(file, bytes);
    await this.#blobs.putFile(blueprintId, key, file);
  }

  /** Moves a finished local file (an export) into the store. */
  async put(blueprintId: string, key: string, file: string) {
    return this.#blobs.putFile(blueprintId, key, file);
  }

  /** A fresh path in the scratch folder (its parent exists). */
  async scratchFile(name: string): Promise<string> {
    const dir = join(this.#scratchDir, randomToken(10));
    await mkdir(dir, { recursive: true });
    return join(dir, name);
  }

  async discardScratch(file: string): Promise<void> {
    await rm(join(file, '..'), { recursive: true, force: true });
  }

  remove(blueprintId: string, key: string): Promise<void> {
    return this.#blobs.remove(blueprintId, key);
  }

  removeAll(blueprintId: string): Promise<void> {
    return this.#blobs.deleteRun(blueprintId);
  }
}
