import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { randomToken } from '../domain/ids.ts';
import { batchFileFieldInvalid, diskFull, batchRunsFieldInvalid, batchRunsFieldMissing, runTooLarge, tooManyImages } from '../domain/problems.ts';
import type { StagedImage } from '../core/runs-service.ts';
import { diskBytesAvailable, stageImageFile } from './staged-image-file.ts';

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
    const diskBudget = await diskBytesAvailable(dir, floor);
    const parts = request.parts({ limits: { fileSize: limits.maxFileBytes + 1, files: limits.maxFiles, fields: 20, fieldSize: 1024 * 1024 } });
    for await (const part of parts) {
      if (part.type === 'field') {
        if (part.fieldname === 'runs') {
          try {
            runs = JSON.parse(String(part.value));
          } catch {
            throw batchRunsFieldInvalid('The "runs" field is not valid JSON');
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
      if (!allowances) throw batchRunsFieldMissing(true);
      const index = Number(RUN_FIELD.exec(part.fieldname)?.[1] ?? Number.NaN);
      const allowance = allowances[index];
      const original = part.filename || `image${files[index]?.length ?? 0}`;
      if (!allowance) {
        throw batchFileFieldInvalid(original, part.fieldname, allowances.length);
      }
      const mine = files[index] as StagedImage[];
      if (mine.length >= allowance.maxImages) {
        throw tooManyImages(`"${original}" would go over the limit of ${allowance.maxImages} per run`, allowance.maxImages).within(`runs[${index}]`, { run: index });
      }
      const path = join(dir, `${index}-${mine.length}.part`);
      mine.push(
        await stageImageFile(part.file, path, original, limits.maxFileBytes, (bytes) => {
          written += bytes;
          runBytes[index] = (runBytes[index] ?? 0) + bytes;
          if ((runBytes[index] ?? 0) > limits.maxRunBytes) {
            return runTooLarge(`the images go over the limit of ${limits.maxRunBytes} bytes per run at "${original}"`, limits.maxRunBytes).within(`runs[${index}]`, { run: index });
          }
          if (written > diskBudget) return diskFull(floor);
          return undefined;
        }),
      );
    }
    if (!allowances) throw batchRunsFieldMissing(false);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { runs, webhookUrl, files, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
