import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { checkImage, type LocalImage, uploadError } from '../core/image-check.ts';
import type { IncomingImage } from '../core/image-uploads.ts';
import { safeImageName } from '../core/image-names.ts';
import { randomToken } from '../domain/ids.ts';
import { runTooLarge, tooManyImages } from '../domain/problems.ts';

/**
 * The files of a multipart request as they arrive, each a stream to read before the next one
 * comes (other fields are skipped). Multipart stops a file one byte past `maxFileBytes`.
 */
export async function* imageParts(request: FastifyRequest, maxFileBytes: number): AsyncGenerator<IncomingImage> {
  const parts = request.parts({ limits: { fileSize: maxFileBytes + 1, fields: 50, fieldSize: 64 * 1024 } });
  for await (const part of parts) {
    if (part.type !== 'file') continue;
    yield { originalName: part.filename || part.fieldname || 'image', stream: part.file };
  }
}

export interface LocalUploadAllowance {
  /** How many more images the owner may take, and how many bytes. */
  images: number;
  bytes: number;
  maxImages: number;
  maxFileBytes: number;
  maxRunBytes?: number;
  /** What the images are added to, named in errors ("blueprint"). */
  what: string;
}

/**
 * Receives every file of a multipart request into a private temp folder, checked by content and
 * against the limits as it arrives — for images a service must decode before storing them
 * (blueprint photos). Either all files are received, or none is left.
 */
export async function receiveImages(request: FastifyRequest, tempRoot: string, allowance: LocalUploadAllowance) {
  const dir = join(tempRoot, `upload-${randomToken(10)}`);
  await mkdir(dir, { recursive: true });
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const images: LocalImage[] = [];
  let total = 0;
  try {
    for await (const file of imageParts(request, allowance.maxFileBytes)) {
      const original = file.originalName;
      if (images.length >= allowance.images) {
        throw tooManyImages(`"${original}" would go over the limit of ${allowance.maxImages} images per ${allowance.what}`, allowance.maxImages);
      }
      const checked = checkImage(file.stream, original, allowance.maxFileBytes, (bytes) => {
        total += bytes;
        return total > allowance.bytes ? runTooLarge(`The upload goes over the limit of bytes per ${allowance.what} at "${original}"`, allowance.maxRunBytes) : undefined;
      });
      const path = join(dir, `${images.length}.part`);
      let bytes = 0;
      checked.body.on('data', (chunk: Buffer) => (bytes += chunk.length));
      await pipeline(checked.body, createWriteStream(path, { flags: 'wx' })).catch((error) => {
        throw uploadError(error, original);
      });
      const type = await checked.type;
      images.push({ originalName: original, safeName: safeImageName(original, type.extension), path, bytes, contentType: type.mime });
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { images, cleanup };
}
