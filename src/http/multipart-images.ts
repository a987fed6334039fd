import { createWriteStream } from 'node:fs';
import { mkdir, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { randomToken } from '../core/ids.ts';
import { safeImageName } from '../core/image-names.ts';
import { Problem, tooLarge, unprocessable } from '../core/problem.ts';
import type { StagedImage } from '../core/runs-service.ts';
import { detectImageType, IMAGE_SNIFF_BYTES, type ImageType } from '../formats/image-type.ts';

export interface UploadAllowance {
  /** How many more images the run may take. */
  images: number;
  /** How many more bytes the run may take. */
  bytes: number;
  maxImages: number;
  maxFileBytes: number;
  /** The per-run byte limit, named in the error when an upload crosses it. */
  maxRunBytes?: number;
  /** Uploads stop with 507 before the data folder's disk would have less free space than this. */
  minFreeDiskBytes?: number;
}

/**
 * Streams every file of a multipart request to a private temp folder, checking each against the
 * limits and its magic bytes as it arrives. Either all files are staged, or none are left.
 */
export async function stageImages(request: FastifyRequest, tempRoot: string, allowance: UploadAllowance) {
  const dir = join(tempRoot, `upload-${randomToken(10)}`);
  await mkdir(dir, { recursive: true });
  const diskBudget = await diskBytesAvailable(dir, allowance.minFreeDiskBytes ?? 0).catch(async (error) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  const staged: StagedImage[] = [];
  let runBytes = 0;
  try {
    const parts = request.parts({ limits: { fileSize: allowance.maxFileBytes + 1, fields: 50, fieldSize: 64 * 1024 } });
    for await (const part of parts) {
      if (part.type !== 'file') continue;
      const original = part.filename || part.fieldname || 'image';
      if (staged.length >= allowance.images) {
        throw unprocessable(`Too many images: "${original}" would go over the limit of ${allowance.maxImages} images per run`, {
          limit: 'maxImages',
          value: allowance.maxImages,
        });
      }
      const path = join(dir, `${staged.length}.part`);
      let head = Buffer.alloc(0);
      let type: ImageType | undefined;
      let bytes = 0;
      const check = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          runBytes += chunk.length;
          if (!type && head.length < IMAGE_SNIFF_BYTES) {
            head = Buffer.concat([head, chunk.subarray(0, IMAGE_SNIFF_BYTES - head.length)]);
            if (head.length >= IMAGE_SNIFF_BYTES) type = detectImageType(head) ?? notAnImage(original);
          }
          if (bytes > allowance.maxFileBytes) {
            return done(tooLarge(`"${original}" is larger than the limit of ${allowance.maxFileBytes} bytes per file`, {
              limit: 'maxFileBytes',
              value: allowance.maxFileBytes,
            }));
          }
          if (runBytes > allowance.bytes) {
            return done(tooLarge(`The upload goes over the limit of bytes per run at "${original}"`, {
              limit: 'maxRunBytes',
              ...(allowance.maxRunBytes && { value: allowance.maxRunBytes }),
            }));
          }
          if (runBytes > diskBudget) return done(insufficientStorage(allowance.minFreeDiskBytes ?? 0));
          done(null, chunk);
        },
      });
      await pipeline(part.file, check, createWriteStream(path, { flags: 'wx' })).catch((error) => {
        if (error instanceof Problem) throw error;
        if (error?.code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(`"${original}" is too large`, { limit: 'maxFileBytes' });
        throw error;
      });
      type ??= detectImageType(head) ?? notAnImage(original);
      staged.push({ originalName: original, safeName: safeImageName(original, type.extension), path, bytes, contentType: type.mime });
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { staged, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Bytes an upload may still write before the disk would fall below the floor; 507 when already below it. */
async function diskBytesAvailable(dir: string, floor: number): Promise<number> {
  if (!floor) return Number.POSITIVE_INFINITY;
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (free < floor) throw insufficientStorage(floor, free);
  return free - floor;
}

function insufficientStorage(floor: number, free?: number): Problem {
  return new Problem(507, 'Insufficient Storage', `The server's disk is nearly full (the floor is ${floor} free bytes); uploads are refused until space is freed`, {
    limit: 'minFreeDiskBytes',
    value: floor,
    ...(free !== undefined && { freeBytes: free }),
  });
}

function notAnImage(name: string): never {
  throw new Problem(415, 'Unsupported Media Type', `"${name}" is not a JPEG, PNG, WebP or HEIC image (checked by its content, not its name)`, {
    file: name,
  });
}
