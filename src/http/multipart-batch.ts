import { createWriteStream } from 'node:fs';
import { mkdir, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { randomToken } from '../core/ids.ts';
import { safeImageName } from '../core/image-names.ts';
import { badRequest, Problem, tooLarge, unprocessable } from '../core/problem.ts';
import type { StagedImage } from '../core/runs-service.ts';
import { detectImageType, IMAGE_SNIFF_BYTES, type ImageType } from '../formats/image-type.ts';

export interface BatchRunAllowance {
  maxImages: number;
}

export interface BatchUploadLimits {
  maxFileBytes: number;
  maxRunBytes: number;
  /** Files in the whole request. */
  maxFiles: number;
  minFreeDiskBytes?: number | undefined;
}

const RUN_FIELD = /^run(\d+)$/;

/**
 * A batch upload: a `runs` JSON field first (`[{engine?, settings?, webhookUrl?}, …]`, plus an
 * optional `webhookUrl` field for the batch), then files whose field name says which run they
 * belong to (`run0`, `run1`, …). `describe` validates the runs as soon as the field arrives and
 * returns each run's image allowance, so files are checked against their run's limits as they
 * stream. Either every file is staged, or none is left.
 */
export async function stageBatch(
  request: FastifyRequest,
  tempRoot: string,
  limits: BatchUploadLimits,
  describe: (runs: unknown) => BatchRunAllowance[],
): Promise<{ runs: unknown; webhookUrl: string | undefined; files: StagedImage[][]; cleanup: () => Promise<void> }> {
  const dir = join(tempRoot, `batch-${randomToken(10)}`);
  await mkdir(dir, { recursive: true });
  let runs: unknown;
  let allowances: BatchRunAllowance[] | undefined;
  let webhookUrl: string | undefined;
  const files: StagedImage[][] = [];
  const runBytes: number[] = [];
  let written = 0;
  try {
    const floor = limits.minFreeDiskBytes ?? 0;
    let diskBudget = Number.POSITIVE_INFINITY;
    if (floor) {
      const fs = await statfs(dir);
      diskBudget = fs.bavail * fs.bsize - floor;
      if (diskBudget < 0) throw insufficientStorage(floor);
    }
    const parts = request.parts({ limits: { fileSize: limits.maxFileBytes + 1, files: limits.maxFiles, fields: 20, fieldSize: 1024 * 1024 } });
    for await (const part of parts) {
      if (part.type === 'field') {
        if (part.fieldname === 'runs') {
          try {
            runs = JSON.parse(String(part.value));
          } catch {
            throw badRequest('The "runs" field is not valid JSON');
          }
          allowances = describe(runs);
          allowances.forEach((_, i) => {
            files[i] = [];
            runBytes[i] = 0;
          });
        } else if (part.fieldname === 'webhookUrl') {
          webhookUrl = String(part.value);
        }
        continue;
      }
      if (!allowances) throw badRequest('Send the "runs" field before any file, so files can be checked against their run');
      const index = Number(RUN_FIELD.exec(part.fieldname)?.[1] ?? Number.NaN);
      const allowance = allowances[index];
      const original = part.filename || `image${files[index]?.length ?? 0}`;
      if (!allowance) {
        throw badRequest(`File "${original}" is in field "${part.fieldname}"; files go in run0…run${allowances.length - 1}, one field name per run`);
      }
      const mine = files[index] as StagedImage[];
      if (mine.length >= allowance.maxImages) {
        throw unprocessable(`runs[${index}]: too many images, "${original}" would go over the limit of ${allowance.maxImages} per run`, {
          limit: 'maxImages',
          value: allowance.maxImages,
          run: index,
        });
      }
      const path = join(dir, `${index}-${mine.length}.part`);
      let head = Buffer.alloc(0);
      let type: ImageType | undefined;
      let bytes = 0;
      const check = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          written += chunk.length;
          runBytes[index] = (runBytes[index] ?? 0) + chunk.length;
          if (!type && head.length < IMAGE_SNIFF_BYTES) {
            head = Buffer.concat([head, chunk.subarray(0, IMAGE_SNIFF_BYTES - head.length)]);
            if (head.length >= IMAGE_SNIFF_BYTES) {
              type = detectImageType(head);
              if (!type) return done(notAnImageProblem(original));
            }
          }
          if (bytes > limits.maxFileBytes) {
            return done(tooLarge(`"${original}" is larger than the limit of ${limits.maxFileBytes} bytes per file`, {
              limit: 'maxFileBytes',
              value: limits.maxFileBytes,
            }));
          }
          if ((runBytes[index] ?? 0) > limits.maxRunBytes) {
            return done(tooLarge(`runs[${index}]: the images go over the limit of ${limits.maxRunBytes} bytes per run at "${original}"`, {
              limit: 'maxRunBytes',
              value: limits.maxRunBytes,
              run: index,
            }));
          }
          if (written > diskBudget) return done(insufficientStorage(floor));
          done(null, chunk);
        },
      });
      await pipeline(part.file, check, createWriteStream(path, { flags: 'wx' })).catch((error) => {
        if (error instanceof Problem) throw error;
        if (error?.code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(`"${original}" is too large`, { limit: 'maxFileBytes' });
        throw error;
      });
      type ??= detectImageType(head) ?? notAnImage(original);
      mine.push({ originalName: original, safeName: safeImageName(original, type.extension), path, bytes, contentType: type.mime });
    }
    if (!allowances) throw badRequest('A batch upload needs a "runs" field: a JSON array with one {engine?, settings?} per run');
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { runs, webhookUrl, files, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

function notAnImage(name: string): never {
  throw notAnImageProblem(name);
}

function notAnImageProblem(name: string): Problem {
  return new Problem(415, 'Unsupported Media Type', `"${name}" is not a JPEG, PNG, WebP or HEIC image (checked by its content, not its name)`, {
    file: name,
  });
}

function insufficientStorage(floor: number): Problem {
  return new Problem(507, 'Insufficient Storage', `The server's disk is nearly full (the floor is ${floor} free bytes); uploads are refused until space is freed`, {
    limit: 'minFreeDiskBytes',
    value: floor,
  });
}
