import { createReadStream } from 'node:fs';
import { type FileHandle, open, rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { crc32, createDeflateRaw } from 'node:zlib';
import { randomToken } from '../domain/ids.ts';
import {
  CENTRAL_HEADER,
  CENTRAL_HEADER_BYTES,
  END_BYTES,
  END_OF_CENTRAL_DIRECTORY,
  FLAG_UTF8,
  LOCAL_HEADER,
  LOCAL_HEADER_BYTES,
  MAX_16,
  MAX_32,
  METHOD_DEFLATED,
  METHOD_STORED,
  ZIP64_END_BYTES,
  ZIP64_END_OF_CENTRAL_DIRECTORY,
  ZIP64_EXTRA_ID,
  ZIP64_LOCATOR,
  ZIP64_LOCATOR_BYTES,
} from './zip-records.ts';

export interface ZipWriteOptions {
  /** Write ZIP64 records even where the sizes do not need them (they are used when needed). */
  forceZip64?: boolean;
  /** The modification time written for every entry (default: now); fix it for byte-identical archives. */
  modifiedAt?: Date;
}

export interface ZipEntryOptions {
  /** Deflate the entry (method 8) instead of storing it. Default false. */
  compress?: boolean;
  /** zlib level 0-9 when compressing. Default 6. */
  level?: number;
}

interface WrittenEntry {
  name: Buffer;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  offset: number;
  /** MS-DOS time and date fields. */
  time: number;
  date: number;
}

/** Small writes are gathered into one buffer of this size; bigger ones go straight to the file. */
const COALESCE_BYTES = 1 << 20;
const MAX_WRITE = 1 << 30;
const VERSION_DEFAULT = 20;
const VERSION_ZIP64 = 45;
/** Made by Unix (3) so the mode in the external attributes is honoured. */
const MADE_BY = (3 << 8) | VERSION_ZIP64;
const REGULAR_FILE_MODE = 0o100644;
/** Deflate can grow incompressible data slightly, so plan for ZIP64 a little early. */
const GROWTH = 1.05;

/**
 * Streams a ZIP archive to `<path>.tmp-<random>` and renames it to `path` on close(), so `path`
 * is either absent, its previous content, or the complete archive. Entries are written as they
 * are added; only the central directory is kept in memory.
 */
export class ZipWriter {
  readonly path: string;
  readonly #temp: string;
  readonly #handle: FileHandle;
  readonly #forceZip64: boolean;
  readonly #entries: WrittenEntry[] = [];
  readonly #names = new Set<string>();
  readonly #modified: { time: number; date: number };
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** File offset where the pending bytes go. */
  #flushedTo = 0;
  #failed: unknown;
  #busy = false;
  #done = false;

  private constructor(path: string, temp: string, handle: FileHandle, options: ZipWriteOptions) {
    this.path = path;
    this.#temp = temp;
    this.#handle = handle;
    this.#forceZip64 = options.forceZip64 ?? false;
    this.#modified = dosDateTime(options.modifiedAt ?? new Date());
  }

  static async create(path: string, options: ZipWriteOptions = {}): Promise<ZipWriter> {
    const temp = `${path}.tmp-${randomToken(8)}`;
    return new ZipWriter(path, temp, await open(temp, 'wx'), options);
  }

  /** Adds an entry from memory; `data` may be split in parts (e.g. a header and a payload). */
  async add(name: string, data: Uint8Array | readonly Uint8Array[], options: ZipEntryOptions = {}): Promise<void> {
    const parts = data instanceof Uint8Array ? [data] : data;
    const size = parts.reduce((n, p) => n + p.length, 0);
    if (options.compress) {
      await this.#addStreamed(name, () => parts, size, options);
      return;
    }
    const entry = this.#newEntry(name, METHOD_STORED);
    await this.#guard(async () => {
      entry.offset = this.#end;
      entry.crc32 = parts.reduce((crc, p) => crc32(p, crc), 0);
      entry.size = entry.compressedSize = size;
      const zip64 = this.#forceZip64 || size >= MAX_32;
      await this.#write(localHeader(entry, zip64));
      for (const part of parts) await this.#write(part);
      this.#entries.push(entry);
    });
  }

  /** Adds an entry streamed from a file on disk. */
  async addFile(name: string, sourcePath: string, options: ZipEntryOptions = {}): Promise<void> {
    const { size } = await stat(sourcePath);
    await this.#addStreamed(name, () => createReadStream(sourcePath, { highWaterMark: 1 << 20 }), size, options);
  }

  /** Writes the central directory, syncs the file and moves it into place; aborts on failure. */
  async close(): Promise<void> {
    this.#checkUsable();
    await this.#guard(async () => {
      const directoryOffset = this.#end;
      for (const entry of this.#entries) await this.#write(centralHeader(entry, this.#forceZip64));
      const directorySize = this.#end - directoryOffset;
      const zip64 =
        this.#forceZip64 || this.#entries.length >= MAX_16 || directoryOffset >= MAX_32 || directorySize >= MAX_32;
      if (zip64) await this.#write(zip64End(this.#entries.length, directorySize, directoryOffset, this.#end));
      await this.#write(endRecord(this.#entries.length, directorySize, directoryOffset, zip64));
      await this.#flush();
      await this.#handle.datasync();
    }).catch(async (error) => {
      await this.abort();
      throw error;
    });
    this.#done = true;
    await this.#handle.close();
    await rename(this.#temp, this.path).catch(async (error) => {
      await rm(this.#temp, { force: true });
      throw error;
    });
  }

  /** Drops the partial archive; `path` is left untouched. */
  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#handle.close().catch(() => {});
    await rm(this.#temp, { force: true });
  }

  get #end(): number {
    return this.#flushedTo + this.#pendingBytes;
  }

  /**
   * Writes the local header with placeholder CRC and sizes, streams the data, then patches the
   * header in place: the file is seekable, so no data descriptor is needed.
   */
  async #addStreamed(
    name: string,
    openSource: () => Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
    expectedSize: number,
    options: ZipEntryOptions,
  ): Promise<void> {
    const entry = this.#newEntry(name, options.compress ? METHOD_DEFLATED : METHOD_STORED);
    await this.#guard(async () => {
      entry.offset = this.#end;
      const zip64 = this.#forceZip64 || expectedSize * GROWTH >= MAX_32;
      await this.#write(localHeader(entry, zip64));
      const counted = async function* () {
        for await (const chunk of openSource()) {
          entry.crc32 = crc32(chunk, entry.crc32);
          entry.size += chunk.length;
          yield chunk;
        }
      };
      const sink = async (chunks: AsyncIterable<Uint8Array>) => {
        for await (const chunk of chunks) {
          entry.compressedSize += chunk.length;
          await this.#write(chunk);
        }
      };
      if (options.compress) await pipeline(counted, createDeflateRaw({ level: options.level ?? 6, chunkSize: 1 << 16 }), sink);
      else await sink(counted());
      if (!zip64 && (entry.size >= MAX_32 || entry.compressedSize >= MAX_32)) {
        throw new Error(`${this.path}: entry "${name}" grew past 4 GiB after its header was written without ZIP64`);
      }
      await this.#flush();
      await this.#writeAt(localHeader(entry, zip64), entry.offset);
      this.#entries.push(entry);
    });
  }

  /** Checks the writer is usable and the name acceptable; a refused name does not spoil the archive. */
  #newEntry(name: string, method: number): WrittenEntry {
    this.#checkUsable();
    return { name: this.#claimName(name), method, crc32: 0, compressedSize: 0, size: 0, offset: 0, ...this.#modified };
  }

  #claimName(name: string): Buffer {
    const segments = name.split('/');
    if (!name || name.startsWith('/') || name.includes('\\') || name.includes('\0') || segments.some((s) => s === '..')) {
      throw new Error(`${this.path}: invalid entry name ${JSON.stringify(name)}`);
    }
    if (this.#names.has(name)) throw new Error(`${this.path}: duplicate entry name ${JSON.stringify(name)}`);
    const bytes = Buffer.from(name, 'utf8');
    if (bytes.length > MAX_16) throw new Error(`${this.path}: entry name longer than 65535 bytes`);
    this.#names.add(name);
    return bytes;
  }

  #checkUsable(): void {
    if (this.#busy) throw new Error(`${this.path}: add entries one at a time (await each call)`);
    if (this.#done) throw new Error(`${this.path}: the archive is already closed`);
    if (this.#failed) throw new Error(`${this.path}: an earlier write failed; abort() the archive`, { cause: this.#failed });
  }

  /** Runs a step; after any failure the archive is unusable and only abort() makes sense. */
  async #guard(step: () => Promise<void>): Promise<void> {
    this.#checkUsable();
    this.#busy = true;
    try {
      await step();
    } catch (error) {
      this.#failed = error;
      throw error;
    } finally {
      this.#busy = false;
    }
  }

  async #write(bytes: Uint8Array): Promise<void> {
    if (bytes.length < COALESCE_BYTES) {
      // Copied, so the caller may reuse its buffer as soon as add() resolves.
      this.#pending.push(new Uint8Array(bytes));
      this.#pendingBytes += bytes.length;
      if (this.#pendingBytes >= COALESCE_BYTES) await this.#flush();
      return;
    }
    await this.#flush();
    await this.#writeAt(bytes, this.#flushedTo);
    this.#flushedTo += bytes.length;
  }

  async #flush(): Promise<void> {
    if (this.#pendingBytes === 0) return;
    const bytes = Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#writeAt(bytes, this.#flushedTo);
    this.#flushedTo += bytes.length;
  }

  async #writeAt(bytes: Uint8Array, position: number): Promise<void> {
    for (let done = 0; done < bytes.length; ) {
      const { bytesWritten } = await this.#handle.write(bytes, done, Math.min(bytes.length - done, MAX_WRITE), position + done);
      done += bytesWritten;
    }
  }
}

function localHeader(entry: WrittenEntry, zip64: boolean): Buffer {
  const extraLength = zip64 ? 20 : 0;
  const out = Buffer.alloc(LOCAL_HEADER_BYTES + entry.name.length + extraLength);
  out.writeUInt32LE(LOCAL_HEADER, 0);
  writeCommon(out, 4, entry, zip64);
  out.writeUInt32LE(zip64 ? MAX_32 : entry.compressedSize, 18);
  out.writeUInt32LE(zip64 ? MAX_32 : entry.size, 22);
  out.writeUInt16LE(entry.name.length, 26);
  out.writeUInt16LE(extraLength, 28);
  entry.name.copy(out, LOCAL_HEADER_BYTES);
  if (zip64) {
    // The local ZIP64 extra must hold both sizes, uncompressed first.
    const at = LOCAL_HEADER_BYTES + entry.name.length;
    out.writeUInt16LE(ZIP64_EXTRA_ID, at);
    out.writeUInt16LE(16, at + 2);
    out.writeBigUInt64LE(BigInt(entry.size), at + 4);
    out.writeBigUInt64LE(BigInt(entry.compressedSize), at + 12);
  }
  return out;
}

function centralHeader(entry: WrittenEntry, forceZip64: boolean): Buffer {
  // Only the fields that overflow (or all, when forced) move to the extra field, in this order.
  const wide = [entry.size, entry.compressedSize, entry.offset].map((v) => forceZip64 || v >= MAX_32);
  const wideValues = [entry.size, entry.compressedSize, entry.offset].filter((_, i) => wide[i]);
  const extraLength = wideValues.length ? 4 + 8 * wideValues.length : 0;
  const out = Buffer.alloc(CENTRAL_HEADER_BYTES + entry.name.length + extraLength);
  out.writeUInt32LE(CENTRAL_HEADER, 0);
  out.writeUInt16LE(MADE_BY, 4);
  writeCommon(out, 6, entry, wideValues.length > 0);
  out.writeUInt32LE(wide[1] ? MAX_32 : entry.compressedSize, 20);
  out.writeUInt32LE(wide[0] ? MAX_32 : entry.size, 24);
  out.writeUInt16LE(entry.name.length, 28);
  out.writeUInt16LE(extraLength, 30);
  out.writeUInt32LE((REGULAR_FILE_MODE << 16) >>> 0, 38);
  out.writeUInt32LE(wide[2] ? MAX_32 : entry.offset, 42);
  entry.name.copy(out, CENTRAL_HEADER_BYTES);
  if (extraLength) {
    let at = CENTRAL_HEADER_BYTES + entry.name.length;
    out.writeUInt16LE(ZIP64_EXTRA_ID, at);
    out.writeUInt16LE(extraLength - 4, at + 2);
    for (const value of wideValues) {
      at += 8;
      out.writeBigUInt64LE(BigInt(value), at - 4);
    }
  }
  return out;
}

/** Version needed, flags, method, time, date and CRC: shared by local and central headers. */
function writeCommon(out: Buffer, at: number, entry: WrittenEntry, zip64: boolean): void {
  const ascii = entry.name.every((b) => b < 0x80);
  out.writeUInt16LE(zip64 ? VERSION_ZIP64 : VERSION_DEFAULT, at);
  out.writeUInt16LE(ascii ? 0 : FLAG_UTF8, at + 2);
  out.writeUInt16LE(entry.method, at + 4);
  out.writeUInt16LE(entry.time, at + 6);
  out.writeUInt16LE(entry.date, at + 8);
  out.writeUInt32LE(entry.crc32, at + 10);
}

function zip64End(count: number, size: number, offset: number, recordOffset: number): Buffer {
  const out = Buffer.alloc(ZIP64_END_BYTES + ZIP64_LOCATOR_BYTES);
  out.writeUInt32LE(ZIP64_END_OF_CENTRAL_DIRECTORY, 0);
  // The record size excludes the signature and this size field.
  out.writeBigUInt64LE(BigInt(ZIP64_END_BYTES - 12), 4);
  out.writeUInt16LE(MADE_BY, 12);
  out.writeUInt16LE(VERSION_ZIP64, 14);
  out.writeBigUInt64LE(BigInt(count), 24);
  out.writeBigUInt64LE(BigInt(count), 32);
  out.writeBigUInt64LE(BigInt(size), 40);
  out.writeBigUInt64LE(BigInt(offset), 48);
  out.writeUInt32LE(ZIP64_LOCATOR, ZIP64_END_BYTES);
  out.writeBigUInt64LE(BigInt(recordOffset), ZIP64_END_BYTES + 8);
  out.writeUInt32LE(1, ZIP64_END_BYTES + 16);
  return out;
}

function endRecord(count: number, size: number, offset: number, zip64: boolean): Buffer {
  const out = Buffer.alloc(END_BYTES);
  out.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
  out.writeUInt16LE(zip64 ? MAX_16 : count, 8);
  out.writeUInt16LE(zip64 ? MAX_16 : count, 10);
  out.writeUInt32LE(zip64 ? MAX_32 : size, 12);
  out.writeUInt32LE(zip64 ? MAX_32 : offset, 16);
  return out;
}

function dosDateTime(when: Date): { time: number; date: number } {
  // DOS dates cover 1980-2107.
  const year = Math.min(Math.max(when.getFullYear(), 1980), 2107);
  return {
    time: (when.getHours() << 11) | (when.getMinutes() << 5) | (when.getSeconds() >> 1),
    date: ((year - 1980) << 9) | ((when.getMonth() + 1) << 5) | when.getDate(),
  };
}
