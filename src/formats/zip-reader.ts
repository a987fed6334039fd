import { readSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { basename } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import { Inflate } from 'fflate';
import {
  CENTRAL_HEADER,
  CENTRAL_HEADER_BYTES,
  END_BYTES,
  END_OF_CENTRAL_DIRECTORY,
  FLAG_ENCRYPTED,
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
import { crc32Combine } from './crc32-combine.ts';

/** One file in the archive, as the central directory describes it. */
export interface ZipEntry {
  /** Path inside the archive, '/'-separated; directories end with '/'. */
  name: string;
  /** 0 stored, 8 deflated; anything else cannot be read. */
  method: number;
  compressedSize: number;
  /** Uncompressed size in bytes. */
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

export interface ZipReadOptions {
  /** Entries declaring more uncompressed bytes than this are refused. Default 4 GiB. */
  maxEntryBytes?: number;
  /**
   * Deflated entries declaring a higher uncompressed:compressed ratio are refused. Deflate cannot
   * exceed about 1032:1, so the default (1100) only rejects sizes that lie.
   */
  maxCompressionRatio?: number;
}

const DEFAULT_MAX_ENTRY_BYTES = 4 * 1024 ** 3;
const DEFAULT_MAX_RATIO = 1100;
/** Room for the end record, the longest comment and a ZIP64 locator before it. */
const MAX_TAIL = END_BYTES + MAX_16 + ZIP64_LOCATOR_BYTES;
/** Reads small enough to stay in cache for the CRC that follows each one. */
const READ_CHUNK = 1 << 20;
/** Small, because 1 KiB of deflate can inflate to 1 MiB. */
const PREFIX_CHUNK = 1024;
/**
 * readFrom()'s reads in flight: libuv's default thread-pool size, so the page faults of filling
 * fresh memory are taken on several cores while the CRC of finished chunks runs on this one.
 */
const PARALLEL_READS = 4;
const PARALLEL_CHUNK = 4 << 20;

/**
 * Reads a ZIP archive from a file: the central directory on open (ZIP64 included), then entries
 * on demand. Entry reads are synchronous so that callers can decode lazily from sync getters.
 */
export class ZipReader {
  readonly path: string;
  readonly entries: readonly ZipEntry[];
  readonly #handle: FileHandle;
  readonly #fileSize: number;
  readonly #byName: Map<string, ZipEntry>;
  readonly #dataStarts = new Map<ZipEntry, number>();
  readonly #maxEntryBytes: number;
  readonly #maxRatio: number;
  #closed = false;

  private constructor(path: string, handle: FileHandle, fileSize: number, entries: ZipEntry[], options: ZipReadOptions) {
    this.path = path;
    this.#handle = handle;
    this.#fileSize = fileSize;
    this.entries = entries;
    this.#byName = new Map(entries.map((e) => [e.name, e]));
    this.#maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
    this.#maxRatio = options.maxCompressionRatio ?? DEFAULT_MAX_RATIO;
  }

  static async open(path: string, options: ZipReadOptions = {}): Promise<ZipReader> {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const entries = readCentralDirectory(handle.fd, size, basename(path));
      return new ZipReader(path, handle, size, entries, options);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get(name: string): ZipEntry | undefined {
    return this.#byName.get(name);
  }

  /** The entry's uncompressed bytes, after checking size limits, sizes and CRC-32. */
  read(entry: ZipEntry): Uint8Array {
    const label = this.#label(entry);
    if (entry.size > this.#maxEntryBytes) {
      throw new Error(`${label}: declares ${entry.size} bytes uncompressed, over the ${this.#maxEntryBytes}-byte limit`);
    }
    const start = this.#dataStart(entry, label);
    let bytes: Uint8Array;
    if (entry.method === METHOD_STORED) {
      if (entry.size !== entry.compressedSize) {
        throw new Error(`${label}: stored entry declares ${entry.compressedSize} bytes but ${entry.size} uncompressed`);
      }
      bytes = this.#readAt(start, entry.size, label, entry.crc32);
    } else {
      if (entry.size > entry.compressedSize * this.#maxRatio) {
        const ratio = Math.round(entry.size / Math.max(1, entry.compressedSize));
        throw new Error(`${label}: declares a compression ratio of ${ratio}:1, over the ${this.#maxRatio}:1 limit (zip bomb?)`);
      }
      bytes = inflateExactly(this.#readAt(start, entry.compressedSize, label), entry.size, label);
      checkCrc(crc32(bytes), entry.crc32, label);
    }
    return bytes;
  }

  /**
   * The entry's uncompressed bytes from `skip` on, in a buffer of their own (typed-array views of
   * it start aligned, at 0), checked like read(). Stored entries are read off the event loop in
   * parallel chunks straight into that buffer; deflated ones are inflated as read() does.
   */
  async readFrom(entry: ZipEntry, skip = 0): Promise<Uint8Array> {
    if (entry.method !== METHOD_STORED || entry.size !== entry.compressedSize || entry.size > this.#maxEntryBytes) {
      return this.read(entry).slice(skip);
    }
    const label = this.#label(entry);
    const start = this.#dataStart(entry, label);
    const head = this.#readAt(start, Math.min(skip, entry.size), label);
    const body = Buffer.allocUnsafeSlow(entry.size - head.length);
    const crcs: number[] = [];
    let next = 0;
    let failed = false;
    const readChunks = async (): Promise<void> => {
      while (next < body.length && !failed) {
        const at = next;
        const length = Math.min(PARALLEL_CHUNK, body.length - at);
        next += length;
        for (let done = 0; done < length; ) {
          const { bytesRead } = await this.#handle.read(body, at + done, length - done, start + head.length + at + done);
          if (bytesRead === 0) throw new Error(`${label}: unexpected end of file (truncated?)`);
          done += bytesRead;
        }
        crcs[at / PARALLEL_CHUNK] = crc32(body.subarray(at, at + length));
      }
    };
    const readers = Array.from({ length: PARALLEL_READS }, () =>
      readChunks().catch((error: unknown) => {
        failed = true;
        throw error;
      }),
    );
    for (const result of await Promise.allSettled(readers)) if (result.status === 'rejected') throw result.reason;
    let crc = crc32(head);
    crcs.forEach((chunkCrc, i) => {
      crc = crc32Combine(crc, chunkCrc, Math.min(PARALLEL_CHUNK, body.length - i * PARALLEL_CHUNK));
    });
    checkCrc(crc, entry.crc32, label);
    return body;
  }

  /**
   * Up to `length` leading bytes of the entry, decompressing no more than needed; for peeking at
   * headers. Not checked against the CRC, which covers the whole entry.
   */
  readPrefix(entry: ZipEntry, length: number): Uint8Array {
    const label = this.#label(entry);
    const start = this.#dataStart(entry, label);
    if (entry.method === METHOD_STORED) return this.#readAt(start, Math.min(length, entry.compressedSize), label);
    const parts: Uint8Array[] = [];
    let inflated = 0;
    const inflater = new Inflate((chunk) => {
      parts.push(chunk);
      inflated += chunk.length;
    });
    try {
      for (let at = 0; at < entry.compressedSize && inflated < length; at += PREFIX_CHUNK) {
        const chunk = this.#readAt(start + at, Math.min(PREFIX_CHUNK, entry.compressedSize - at), label);
        inflater.push(chunk, at + chunk.length === entry.compressedSize);
      }
    } catch (error) {
      throw new Error(`${label}: corrupt deflate data (${(error as Error).message})`, { cause: error });
    }
    return Buffer.concat(parts).subarray(0, length);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }

  #label(entry: ZipEntry): string {
    return `${basename(this.path)}: member "${entry.name}"`;
  }

  #dataStart(entry: ZipEntry, label: string): number {
    const known = this.#dataStarts.get(entry);
    if (known !== undefined) return known;
    if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATED) {
      throw new Error(`${label}: unsupported compression method ${entry.method}`);
    }
    const header = this.#readAt(entry.localHeaderOffset, LOCAL_HEADER_BYTES, label);
    if (header.readUInt32LE(0) !== LOCAL_HEADER) throw new Error(`${label}: bad local header signature`);
    if (header.readUInt16LE(6) & FLAG_ENCRYPTED) throw new Error(`${label}: is encrypted`);
    const start = entry.localHeaderOffset + LOCAL_HEADER_BYTES + header.readUInt16LE(26) + header.readUInt16LE(28);
    if (start + entry.compressedSize > this.#fileSize) {
      throw new Error(`${label}: data runs past the end of the file (truncated?)`);
    }
    this.#dataStarts.set(entry, start);
    return start;
  }

  /**
   * A fresh, unpooled buffer, so typed-array views of it start aligned. With `expectedCrc`, the
   * CRC-32 is checked as the bytes arrive, while each chunk is still in cache.
   */
  #readAt(position: number, length: number, label: string, expectedCrc?: number): Buffer {
    if (this.#closed) throw new Error(`${label}: the archive is closed`);
    return readExactly(this.#handle.fd, position, length, label, expectedCrc);
  }
}

function readExactly(fd: number, position: number, length: number, label: string, expectedCrc?: number): Buffer {
  const buffer = Buffer.allocUnsafeSlow(length);
  let crc = 0;
  let done = 0;
  while (done < length) {
    const read = readSync(fd, buffer, done, Math.min(length - done, READ_CHUNK), position + done);
    if (read === 0) throw new Error(`${label}: unexpected end of file (truncated?)`);
    if (expectedCrc !== undefined) crc = crc32(buffer.subarray(done, done + read), crc);
    done += read;
  }
  if (expectedCrc !== undefined) checkCrc(crc, expectedCrc, label);
  return buffer;
}

function checkCrc(actual: number, expected: number, label: string): void {
  if (actual !== expected) throw new Error(`${label}: CRC-32 mismatch (expected ${hex(expected)}, got ${hex(actual)})`);
}

function inflateExactly(compressed: Uint8Array, size: number, label: string): Uint8Array {
  let out: Buffer;
  try {
    // One output chunk of the declared size (plus slack to see the end of the stream) avoids
    // zlib's default of 16 KiB chunks concatenated afterwards, which is many times slower.
    out = inflateRawSync(compressed, { maxOutputLength: Math.max(1, size), chunkSize: Math.max(64, size + 64) });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new Error(`${label}: inflates to more than the declared ${size} bytes (zip bomb?)`, { cause: error });
    }
    throw new Error(`${label}: corrupt deflate data (${(error as Error).message})`, { cause: error });
  }
  if (out.length !== size) throw new Error(`${label}: inflates to ${out.length} bytes, not the declared ${size}`);
  return out;
}

interface Directory {
  entries: number;
  size: number;
  offset: number;
  /** Where the directory must end: the ZIP64 end record, or else the end record. */
  end: number;
}

function readCentralDirectory(fd: number, fileSize: number, file: string): ZipEntry[] {
  const tailStart = Math.max(0, fileSize - MAX_TAIL);
  const tail = readExactly(fd, tailStart, fileSize - tailStart, file);
  const endAt = findEndRecord(tail);
  if (endAt < 0) throw new Error(`${file}: not a ZIP archive, or truncated (no end of central directory record)`);
  const directory = readDirectoryLocation(fd, tail, endAt, tailStart, file);
  if (directory.offset + directory.size > directory.end) {
    throw new Error(`${file}: central directory lies outside the archive (truncated?)`);
  }
  if (directory.entries * CENTRAL_HEADER_BYTES > directory.size) {
    throw new Error(`${file}: central directory claims ${directory.entries} entries, more than fit in ${directory.size} bytes`);
  }
  return parseEntries(readExactly(fd, directory.offset, directory.size, file), directory.entries, fileSize, file);
}

/** The last end-of-central-directory signature whose comment fits the file. */
function findEndRecord(tail: Buffer): number {
  for (let at = tail.length - END_BYTES; at >= 0; at--) {
    if (tail.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY && at + END_BYTES + tail.readUInt16LE(at + 20) <= tail.length) {
      return at;
    }
  }
  return -1;
}

function readDirectoryLocation(fd: number, tail: Buffer, endAt: number, tailStart: number, file: string): Directory {
  if (tail.readUInt16LE(endAt + 4) !== 0 || tail.readUInt16LE(endAt + 6) !== 0) {
    throw new Error(`${file}: multi-disk archives are not supported`);
  }
  const locatorAt = endAt - ZIP64_LOCATOR_BYTES;
  if (locatorAt < 0 || tail.readUInt32LE(locatorAt) !== ZIP64_LOCATOR) {
    return {
      entries: tail.readUInt16LE(endAt + 10),
      size: tail.readUInt32LE(endAt + 12),
      offset: tail.readUInt32LE(endAt + 16),
      end: tailStart + endAt,
    };
  }
  const zip64EndAt = safeNumber(tail.readBigUInt64LE(locatorAt + 8), file);
  if (zip64EndAt + ZIP64_END_BYTES > tailStart + locatorAt) throw new Error(`${file}: ZIP64 end record lies outside the archive`);
  const record = readExactly(fd, zip64EndAt, ZIP64_END_BYTES, file);
  if (record.readUInt32LE(0) !== ZIP64_END_OF_CENTRAL_DIRECTORY) throw new Error(`${file}: bad ZIP64 end record signature`);
  return {
    entries: safeNumber(record.readBigUInt64LE(32), file),
    size: safeNumber(record.readBigUInt64LE(40), file),
    offset: safeNumber(record.readBigUInt64LE(48), file),
    end: zip64EndAt,
  };
}

function parseEntries(directory: Buffer, count: number, fileSize: number, file: string): ZipEntry[] {
  const entries: ZipEntry[] = [];
  const names = new Set<string>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + CENTRAL_HEADER_BYTES > directory.length || directory.readUInt32LE(at) !== CENTRAL_HEADER) {
      throw new Error(`${file}: central directory entry ${i} is corrupt`);
    }
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const recordEnd = at + CENTRAL_HEADER_BYTES + nameLength + extraLength + directory.readUInt16LE(at + 32);
    if (recordEnd > directory.length) throw new Error(`${file}: central directory entry ${i} is truncated`);
    // Names are taken as UTF-8 whether or not flag bit 11 says so; legacy CP437 names are
    // not something our producers write.
    const name = directory.toString('utf8', at + CENTRAL_HEADER_BYTES, at + CENTRAL_HEADER_BYTES + nameLength);
    const extraStart = at + CENTRAL_HEADER_BYTES + nameLength;
    const zip64 = zip64Fields(directory.subarray(extraStart, extraStart + extraLength));
    const label = `${file}: member "${name}"`;
    const wide = (value: number): number => {
      if (value !== MAX_32) return value;
      const next = zip64.shift();
      if (next === undefined) throw new Error(`${label}: ZIP64 extra field is missing a size or offset`);
      return safeNumber(next, label);
    };
    const entry: ZipEntry = {
      name,
      method: directory.readUInt16LE(at + 10),
      crc32: directory.readUInt32LE(at + 16),
      // ZIP64 stores the uncompressed size first, then compressed size, then offset.
      size: wide(directory.readUInt32LE(at + 24)),
      compressedSize: wide(directory.readUInt32LE(at + 20)),
      localHeaderOffset: wide(directory.readUInt32LE(at + 42)),
    };
    if (entry.localHeaderOffset + entry.compressedSize > fileSize) {
      throw new Error(`${label}: data runs past the end of the file (truncated?)`);
    }
    if (names.has(name)) throw new Error(`${label}: appears more than once`);
    names.add(name);
    entries.push(entry);
    at = recordEnd;
  }
  return entries;
}

/** The 64-bit values of the ZIP64 extra field, in order; empty when absent. */
function zip64Fields(extra: Buffer): bigint[] {
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (id === ZIP64_EXTRA_ID) {
      const values: bigint[] = [];
      for (let v = at + 4; v + 8 <= Math.min(at + 4 + length, extra.length); v += 8) values.push(extra.readBigUInt64LE(v));
      return values;
    }
    at += 4 + length;
  }
  return [];
}

function safeNumber(value: bigint, label: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${label}: size or offset ${value} is too large`);
  return Number(value);
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}
