import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { loadConfig, type S3Config } from '../../src/config.ts';
import { createS3Client } from '../../src/blobs/s3-client.ts';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** The server's S3 settings, as environment variables for a Recon process. */
  env: Record<string, string>;
  config: S3Config;
  client: S3Client;
  /** Every object key in the bucket under `prefix`. */
  keys(prefix?: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** s3rver (a real S3 HTTP API on the file system) on a free port, with one empty bucket. */
export async function startS3(options: { bucket?: string; prefix?: string } = {}): Promise<TestS3> {
  const bucket = options.bucket ?? 'recon-test';
  const directory = await mkdtemp(join(tmpdir(), 'recon-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  // Like an external service: an idle s3rver does not keep the test process alive.
  server.httpServer?.unref();
  const endpoint = `http://127.0.0.1:${port}`;
  const env = {
    S3_BUCKET: bucket,
    S3_ENDPOINT: endpoint,
    S3_REGION: 'us-east-1',
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    ...(options.prefix && { S3_PREFIX: options.prefix }),
  };
  const config = loadConfig(env).s3 as S3Config;
  const client = createS3Client(config);
  return {
    endpoint,
    bucket,
    env,
    config,
    client,
    async keys(prefix = '') {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token && { ContinuationToken: token }) }));
        keys.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys;
    },
    async stop() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
