import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type ListMultipartUploadsCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { randomToken } from '../domain/ids.ts';
import { assertScopedKey, type BlobArea, RUN_AREA, stagedAt, stagingName } from './blob-keys.ts';
import type { BlobInfo, BlobStore, DownloadUrlOptions, StagedBlob, StagingSweep } from './blob-store.ts';

export interface S3BlobStoreOptions {
  bucket: string;
  /** Put before every key: '' or a path ending in '/'. */
  prefix: string;
  /** Multipart part size; one upload holds about `partBytes × partConcurrency` in memory. */
  partBytes: number;
  partConcurrency: number;
  /** How long a presigned download URL stays valid. */
  presignSeconds: number;
}

/** S3 refuses a single CopyObject over 5 GiB. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;
const DELETE_BATCH = 1000;

/**
 * Blobs as objects `<prefix>runs/<runId>/<key>` (or another area's folder) in an S3-compatible bucket: the same layout as the
 * local store. Objects appear whole or not at all (S3 guarantees it for PUT, CopyObject and
 * CompleteMultipartUpload), so staging and putting in place are an upload and a server-side copy.
 */
export class S3BlobStore implements BlobStore {
  readonly #client: S3Client;
  readonly #options: S3BlobStoreOptions;
  readonly #area: BlobArea;

  /** `area` says whose files these are (runs by default); areas share the bucket, the prefix and staging. */
  constructor(deps: { client: S3Client; options: S3BlobStoreOptions; area?: BlobArea }) {
    this.#client = deps.client;
    this.#options = deps.options;
    this.#area = deps.area ?? RUN_AREA;
  }

  /** Fails with what to fix when the bucket cannot be reached (wrong endpoint, name or credentials). */
  async check(): Promise<void> {
    const { bucket, prefix } = this.#options;
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (error) {
      const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      const why = status === 404 ? 'it does not exist' : status === 403 ? 'access is denied (check the credentials)' : `${e.name ?? 'error'}: ${e.message ?? String(error)}`;
      throw new Error(`The S3 bucket "${bucket}"${prefix ? ` (prefix ${prefix})` : ''} cannot be used: ${why}. Check S3_BUCKET, S3_ENDPOINT, S3_REGION and the credentials`);
    }
  }

  async putFile(runId: string, key: string, localFile: string): Promise<BlobInfo> {
    const objectKey = this.#key(runId, key);
    await this.#upload(objectKey, createReadStream(localFile));
    await rm(localFile, { force: true });
    return this.#written(objectKey);
  }

  async putStream(runId: string, key: string, body: Readable): Promise<BlobInfo> {
    const objectKey = this.#key(runId, key);
    await this.#upload(objectKey, body);
    return this.#written(objectKey);
  }

  async writeJson(runId: string, key: string, value: unknown): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#options.bucket,
        Key: this.#key(runId, key),
        Body: `${JSON.stringify(value, null, 2)}\n`,
        ContentType: 'application/json',
      }),
    );
  }

  async stat(runId: string, key: string): Promise<BlobInfo | undefined> {
    return this.#head(this.#key(runId, key));
  }

  read(runId: string, key: string, range?: { start: number; end: number }): Readable {
    const objectKey = this.#key(runId, key);
    const out = new PassThrough();
    this.#client
      .send(new GetObjectCommand({ Bucket: this.#options.bucket, Key: objectKey, ...(range && { Range: `bytes=${range.start}-${range.end}` }) }))
      .then((response) => pipeline(response.Body as Readable, out))
      .catch((error) => out.destroy(error));
    return out;
  }

  async localPath(runId: string, key: string, scratchDir: string): Promise<string> {
    const objectKey = this.#key(runId, key);
    const target = join(scratchDir, key);
    await mkdir(dirname(target), { recursive: true });
    const temp = `${target}.part-${randomToken(6)}`;
    try {
      const response = await this.#client.send(new GetObjectCommand({ Bucket: this.#options.bucket, Key: objectKey }));
      await pipeline(response.Body as Readable, createWriteStream(temp, { flags: 'wx' }));
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return target;
  }

  async list(runId: string, prefix: string): Promise<string[]> {
    const base = this.#key(runId, '');
    const dir = prefix ? this.#key(runId, prefix.replace(/\/?$/, '/')) : base;
    const keys: string[] = [];
    for await (const page of this.#pages(dir)) keys.push(...(page.Contents ?? []).map((o) => (o.Key ?? '').slice(base.length)));
    return keys;
  }

  async copy(fromRunId: string, toRunId: string, key: string): Promise<void> {
    await this.#copyObject(this.#key(fromRunId, key), this.#key(toRunId, key));
  }

  async remove(runId: string, key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#options.bucket, Key: this.#key(runId, key) }));
  }

  async deleteRun(runId: string): Promise<void> {
    const keys: string[] = [];
    for await (const page of this.#pages(this.#key(runId, ''))) keys.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
    await this.#deleteKeys(keys);
  }

  async runIds(): Promise<string[]> {
    const base = `${this.#options.prefix}${this.#area.name}/`;
    const ids: string[] = [];
    for await (const page of this.#pages(base, '/')) {
      for (const common of page.CommonPrefixes ?? []) {
        const id = (common.Prefix ?? '').slice(base.length, -1);
        if (this.#area.isScope(id)) ids.push(id);
      }
    }
    return ids;
  }

  async stage(body: Readable): Promise<StagedBlob> {
    const ref = this.#stagingKey(stagingName());
    await this.#upload(ref, body);
    return { ref, bytes: (await this.#written(ref)).bytes };
  }

  async stageFile(localFile: string): Promise<StagedBlob> {
    const ref = this.#stagingKey(stagingName());
    await this.#upload(ref, createReadStream(localFile));
    return { ref, bytes: (await stat(localFile)).size };
  }

  async putStaged(runId: string, key: string, staged: StagedBlob): Promise<BlobInfo> {
    const source = this.#stagedKey(staged);
    if (staged.bytes > MAX_COPY_BYTES) throw new Error(`A blob of ${staged.bytes} bytes is over S3's 5 GiB limit for putting it in place with one copy`);
    const result = await this.#copyObject(source, this.#key(runId, key));
    await this.discard(staged);
    return { bytes: staged.bytes, etag: result.ETag ?? '', modifiedAt: result.LastModified ?? new Date() };
  }

  async discard(staged: StagedBlob): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#options.bucket, Key: this.#stagedKey(staged) }));
  }

  async spaceLeft(): Promise<undefined> {
    return undefined;
  }

  async sweepStaging(olderThan: Date): Promise<StagingSweep> {
    const base = this.#stagingKey('');
    const stale: string[] = [];
    for await (const page of this.#pages(base)) {
      for (const object of page.Contents ?? []) {
        const at = stagedAt((object.Key ?? '').slice(base.length));
        if (at && at < olderThan) stale.push(object.Key ?? '');
      }
    }
    await this.#deleteKeys(stale);
    return { blobs: stale.length, multipartUploads: await this.#abortStaleMultipartUploads(olderThan) };
  }

  async downloadUrl(runId: string, key: string, options: DownloadUrlOptions): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.#options.bucket,
      Key: this.#key(runId, key),
      ResponseContentDisposition: `attachment; filename="${options.fileName}"`,
      ResponseContentType: options.contentType,
    });
    return getSignedUrl(this.#client, command, { expiresIn: this.#options.presignSeconds });
  }

  #key(runId: string, key: string): string {
    assertScopedKey(this.#area, runId, key);
    return `${this.#options.prefix}${this.#area.name}/${runId}/${key}`;
  }

  #stagingKey(name: string): string {
    return `${this.#options.prefix}staging/${name}`;
  }

  /** A staged ref names an object of this store's staging prefix, nothing else. */
  #stagedKey(staged: StagedBlob): string {
    const name = staged.ref.slice(this.#stagingKey('').length);
    if (!stagedAt(name) || staged.ref !== this.#stagingKey(name)) throw new Error(`Not a staged blob of this store: ${JSON.stringify(staged.ref)}`);
    return staged.ref;
  }

  /**
   * Streams `body` to `objectKey` (multipart once it outgrows one part). On any failure the
   * multipart upload is aborted by lib-storage and the key deleted — a service that keeps a
   * cut-off single PUT would otherwise keep half a file — and the body's own error, when there is
   * one, is what the caller gets (not the abort's).
   */
  async #upload(objectKey: string, body: Readable): Promise<void> {
    let bodyError: unknown;
    body.once('error', (error) => (bodyError ??= error));
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#options.bucket, Key: objectKey, Body: body },
      partSize: this.#options.partBytes,
      queueSize: this.#options.partConcurrency,
    });
    try {
      await upload.done();
    } catch (error) {
      body.destroy();
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#options.bucket, Key: objectKey })).catch(() => {});
      throw bodyError ?? error;
    }
  }

  /** The info of an object just written (it exists: a missing one is an error). */
  async #written(objectKey: string): Promise<BlobInfo> {
    const info = await this.#head(objectKey);
    if (!info) throw new Error(`${objectKey} is not in the bucket right after it was written`);
    return info;
  }

  async #head(objectKey: string): Promise<BlobInfo | undefined> {
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#options.bucket, Key: objectKey }));
      return { bytes: head.ContentLength ?? 0, etag: head.ETag ?? '', modifiedAt: head.LastModified ?? new Date(0) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async #copyObject(from: string, to: string) {
    const source = `${this.#options.bucket}/${from}`.split('/').map(encodeURIComponent).join('/');
    const response = await this.#client.send(new CopyObjectCommand({ Bucket: this.#options.bucket, Key: to, CopySource: source }));
    return response.CopyObjectResult ?? {};
  }

  async *#pages(prefix: string, delimiter?: string) {
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.#options.bucket, Prefix: prefix, ...(delimiter && { Delimiter: delimiter }), ...(token && { ContinuationToken: token }) }),
      );
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async #deleteKeys(keys: string[]) {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const response = await this.#client.send(
        new DeleteObjectsCommand({ Bucket: this.#options.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      const failed = response.Errors ?? [];
      if (failed.length) throw new Error(`Could not delete ${failed.length} object(s), e.g. ${failed[0]?.Key}: ${failed[0]?.Code} ${failed[0]?.Message}`);
    }
  }

  /** Multipart uploads a crashed process left open hold storage until aborted (or a bucket lifecycle rule does it). */
  async #abortStaleMultipartUploads(olderThan: Date): Promise<number | 'unsupported'> {
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      let page: ListMultipartUploadsCommandOutput;
      try {
        page = await this.#client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.#options.bucket,
            Prefix: this.#options.prefix,
            ...(keyMarker && { KeyMarker: keyMarker }),
            ...(uploadIdMarker && { UploadIdMarker: uploadIdMarker }),
          }),
        );
      } catch (error) {
        if (isNotImplemented(error)) return 'unsupported';
        throw error;
      }
      for (const upload of page.Uploads ?? []) {
        if (!upload.Initiated || upload.Initiated >= olderThan) continue;
        await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#options.bucket, Key: upload.Key, UploadId: upload.UploadId }));
        aborted++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return aborted;
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

function isNotImplemented(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotImplemented' || e?.name === 'MethodNotAllowed' || e?.$metadata?.httpStatusCode === 501;
}
