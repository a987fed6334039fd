import { S3Client } from '@aws-sdk/client-s3';

/** Where the bucket is and who we are there (the connection part of the S3_* settings). */
export interface S3Connection {
  region: string;
  endpoint: string | undefined;
  forcePathStyle: boolean;
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
}

/**
 * The S3 client for the configured service. Checksums only where the API requires them: since
 * early 2025 the SDK otherwise sends streaming bodies `aws-chunked` with a CRC32 trailer, which
 * several S3-compatible services (s3rver, older MinIO and Ceph) store undecoded.
 */
export function createS3Client(config: S3Connection): S3Client {
  return new S3Client({
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(config.endpoint && { endpoint: config.endpoint }),
    ...(config.credentials && { credentials: config.credentials }),
  });
}
