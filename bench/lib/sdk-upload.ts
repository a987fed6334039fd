/**
 * The reference for bench/s3-upload.ts: the AWS SDK's own `Upload` (lib-storage) of files to a
 * bucket, one after another, with the part size and parallelism Recon uses. Run as a child so its
 * CPU is its own. Reads BENCH_S3 (JSON: S3 settings, key prefix, files); prints `DONE <seconds>`.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

const job = JSON.parse(process.env.BENCH_S3 ?? '{}') as {
  endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  prefix: string;
  partBytes: number;
  partConcurrency: number;
  files: string[];
};
const client = new S3Client({
  endpoint: job.endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: job.credentials,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const started = performance.now();
for (const file of job.files) {
  await new Upload({
    client,
    params: { Bucket: job.bucket, Key: `${job.prefix}${basename(file)}`, Body: createReadStream(file) },
    partSize: job.partBytes,
    queueSize: job.partConcurrency,
  }).done();
}
console.log(`DONE ${(performance.now() - started) / 1000}`);
client.destroy();
