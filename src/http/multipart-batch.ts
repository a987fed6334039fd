import type { FastifyRequest } from 'fastify';
import type { ImageUploads } from '../core/image-uploads.ts';
import type { StagedImage } from '../core/runs-service.ts';
import { batchFileFieldInvalid, batchRunsFieldInvalid, batchRunsFieldMissing, runTooLarge, tooManyImages } from '../domain/problems.ts';

export interface BatchRunAllowance {
  maxImages: number;
}

export interface BatchUploadLimits {
  maxFileBytes: number;
  maxRunBytes: number;
  /** Files in the whole request. */
  maxFiles: number;
}

const RUN_FIELD = /^run(\d+)$/;

/**
 * A batch upload: a `runs` JSON field first (`[{engine?, settings?, webhookUrl?}, …]`, plus an
 * optional `webhookUrl` field for the batch), then files whose field name says which run they
 * belong to (`run0`, `run1`, …). `describe` validates the runs as soon as the field arrives and
 * returns each run's image allowance, so files are checked against their run's limits as they
 * stream into the blob store's staging area. Either every file is staged, or none is left.
 */
export async function stageBatch(
  request: FastifyRequest,
  uploads: Pick<ImageUploads, 'stage' | 'discard' | 'diskCheck'>,
  limits: BatchUploadLimits,
  describe: (runs: unknown) => BatchRunAllowance[],
): Promise<{ runs: unknown; webhookUrl: string | undefined; files: StagedImage[][]; cleanup: () => Promise<void> }> {
  let runs: unknown;
  let allowances: BatchRunAllowance[] | undefined;
  let webhookUrl: string | undefined;
  const files: StagedImage[][] = [];
  const runBytes: number[] = [];
  const cleanup = () => uploads.discard(files.flat());
  try {
    const withinDisk = await uploads.diskCheck();
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
      mine.push(
        await uploads.stage({ originalName: original, stream: part.file }, (bytes) => {
          runBytes[index] = (runBytes[index] ?? 0) + bytes;
          if ((runBytes[index] ?? 0) > limits.maxRunBytes) {
            return runTooLarge(`the images go over the limit of ${limits.maxRunBytes} bytes per run at "${original}"`, limits.maxRunBytes).within(`runs[${index}]`, { run: index });
          }
          return withinDisk(bytes);
        }),
      );
    }
    if (!allowances) throw batchRunsFieldMissing(false);
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { runs, webhookUrl, files, cleanup };
}
