/** Multipart/form-data request bodies streamed from files on disk, and the files to send. */
import { randomBytes, randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync, statSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MiB } from './report.ts';

const READ_CHUNK = 256 * 1024;
const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
const CHECK_BYTES = 64 * 1024;

export interface Body {
  boundary: string;
  length: number;
  payloadBytes: number;
  stream(): Readable;
}

/** A multipart/form-data body streamed from files on disk: part headers, file, CRLF; then the close. */
export function multipartBody(paths: string[]): Body {
  const boundary = `----recon-bench-${randomBytes(12).toString('hex')}`;
  const crlf = Buffer.from('\r\n');
  const parts = paths.map((path) => ({
    path,
    size: statSync(path).size,
    head: Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="images"; filename="${basename(path)}"\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
  }));
  const close = Buffer.from(`--${boundary}--\r\n`);
  const payloadBytes = parts.reduce((sum, p) => sum + p.size, 0);
  const length = parts.reduce((sum, p) => sum + p.head.length + p.size + crlf.length, 0) + close.length;
  async function* chunks() {
    for (const part of parts) {
      yield part.head;
      for await (const chunk of createReadStream(part.path, { highWaterMark: READ_CHUNK })) yield chunk as Buffer;
      yield crlf;
    }
    yield close;
  }
  return { boundary, length, payloadBytes, stream: () => Readable.from(chunks(), { objectMode: false, highWaterMark: READ_CHUNK }) };
}

/** One POST with the streamed body; the clock runs until the response has been read. */
export function post(url: string, body: Body): Promise<{ status: number; text: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let answered = false;
    const req = request(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': `multipart/form-data; boundary=${body.boundary}`, 'content-length': String(body.length) },
    });
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), seconds: (performance.now() - started) / 1000 }),
      );
      res.on('error', reject);
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    pipeline(body.stream(), req).catch((error) => {
      if (!answered) reject(error);
    });
  });
}

/** `count` files of `bytes` each: JPEG magic bytes, then random filler (never all zeros). */
export function makeFiles(dir: string, prefix: string, count: number, bytes: number): string[] {
  const block = Buffer.alloc(4 * MiB);
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = join(dir, `${prefix}-${String(i + 1).padStart(2, '0')}.jpg`);
    const fd = openSync(path, 'w');
    try {
      let written = 0;
      while (written < bytes) {
        const n = Math.min(block.length, bytes - written);
        randomFillSync(block, 0, n);
        if (written === 0) JPEG_MAGIC.copy(block, 0);
        writeSync(fd, block, 0, n);
        written += n;
      }
    } finally {
      closeSync(fd);
    }
    paths.push(path);
  }
  return paths;
}

export function readAt(path: string, position: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const n = readSync(fd, buffer, 0, length, position);
    return buffer.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Same size, same first and last 64 KiB as the source. */
export function sameEnds(stored: string, source: string, size: number): boolean {
  const tail = Math.max(0, size - CHECK_BYTES);
  return readAt(stored, 0, CHECK_BYTES).equals(readAt(source, 0, CHECK_BYTES)) && readAt(stored, tail, CHECK_BYTES).equals(readAt(source, tail, CHECK_BYTES));
}

