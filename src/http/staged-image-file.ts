import { createWriteStream } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { safeImageName } from '../core/image-names.ts';
import { Problem } from '../domain/problem.ts';
import { diskFull, fileTooLarge, notAnImage } from '../domain/problems.ts';
import type { StagedImage } from '../core/runs-service.ts';
import { detectImageType, IMAGE_SNIFF_BYTES, type ImageType } from '../formats/image-type.ts';

/**
 * Streams one uploaded file to `path`, recognising the image by its first bytes (a non-image is
 * refused as soon as they arrive, not after the whole file) and stopping at `maxFileBytes`.
 * `onChunk` sees every chunk's size and may stop the upload with a Problem (run or disk limits).
 */
export async function stageImageFile(
  file: Readable,
  path: string,
  original: string,
  maxFileBytes: number,
  onChunk: (bytes: number) => Problem | undefined,
): Promise<StagedImage> {
  let head = Buffer.alloc(0);
  let type: ImageType | undefined;
  let bytes = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (!type && head.length < IMAGE_SNIFF_BYTES) {
        head = Buffer.concat([head, chunk.subarray(0, IMAGE_SNIFF_BYTES - head.length)]);
        if (head.length >= IMAGE_SNIFF_BYTES) {
          type = detectImageType(head);
          if (!type) return done(notAnImage(original));
        }
      }
      if (bytes > maxFileBytes) {
        return done(fileTooLarge(original, maxFileBytes));
      }
      done(onChunk(chunk.length) ?? null, chunk);
    },
  });
  await pipeline(file, check, createWriteStream(path, { flags: 'wx' })).catch((error) => {
    if (error instanceof Problem) throw error;
    if (error?.code === 'FST_REQ_FILE_TOO_LARGE') throw fileTooLarge(original);
    throw error;
  });
  type ??= detectImageType(head);
  if (!type) throw notAnImage(original);
  return { originalName: original, safeName: safeImageName(original, type.extension), path, bytes, contentType: type.mime };
}

/** Bytes an upload may still write before the disk would fall below the floor; 507 when already below it. */
export async function diskBytesAvailable(dir: string, floor: number): Promise<number> {
  if (!floor) return Number.POSITIVE_INFINITY;
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (free < floor) throw diskFull(floor, free);
  return free - floor;
}
