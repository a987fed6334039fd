import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { randomToken } from '../domain/ids.ts';
import { diskFull, runTooLarge, tooManyImages } from '../domain/problems.ts';
import type { StagedImage } from '../core/runs-service.ts';
import { diskBytesAvailable, stageImageFile } from './staged-image-file.ts';

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
  /** What the images are added to, named in errors ("run" by default). */
  what?: string;
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
        throw tooManyImages(`"${original}" would go over the limit of ${allowance.maxImages} images per ${allowance.what ?? 'run'}`, allowance.maxImages);
      }
      const path = join(dir, `${staged.length}.part`);
      staged.push(
        await stageImageFile(part.file, path, original, allowance.maxFileBytes, (bytes) => {
          runBytes += bytes;
          if (runBytes > allowance.bytes) {
            return runTooLarge(`The upload goes over the limit of bytes per ${allowance.what ?? 'run'} at "${original}"`, allowance.maxRunBytes);
          }
          if (runBytes > diskBudget) return diskFull(allowance.minFreeDiskBytes ?? 0);
          return undefined;
        }),
      );
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { staged, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
