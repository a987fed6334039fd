import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import type { BlobStore } from '../../src/blobs/blob-store.ts';
import { LocalBlobStore } from '../../src/blobs/local-blob-store.ts';
import { S3BlobStore } from '../../src/blobs/s3-blob-store.ts';
import { newRunId } from '../../src/domain/ids.ts';
import { startS3, type TestS3 } from '../helpers/s3.ts';

const MiB = 1024 * 1024;
/** The smallest part S3 allows; a 12 MiB body then goes up in three parts. */
const PART_BYTES = 5 * MiB;

let s3: TestS3;
let work: string;
before(async () => {
  s3 = await startS3();
  work = await mkdtemp(join(tmpdir(), 'recon-blobs-'));
});
after(async () => {
  await s3.stop();
  await rm(work, { recursive: true, force: true });
});

function s3Store(client: S3Client = s3.client): S3BlobStore {
  return new S3BlobStore({ client, options: { bucket: s3.bucket, prefix: 'contract/', partBytes: PART_BYTES, partConcurrency: 2, presignSeconds: 60 } });
}

const STORES: { kind: string; make: () => Promise<BlobStore> }[] = [
  {
    kind: 'local',
    make: async () => {
      const root = await mkdtemp(join(work, 'local-'));
      return new LocalBlobStore(join(root, 'runs'), { stagingDir: join(root, 'tmp', 'staging') });
    },
  },
  { kind: 's3', make: async () => s3Store() },
];

async function localFile(bytes: Buffer): Promise<string> {
  const path = join(await mkdtemp(join(work, 'src-')), 'file.bin');
  await writeFile(path, bytes);
  return path;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A body the test feeds by hand, to look at the store while an upload is half-way. */
function handFed() {
  const body = new Readable({ read() {} });
  return { body, push: (bytes: Buffer) => body.push(bytes), end: () => body.push(null), fail: (error: Error) => body.destroy(error) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

for (const { kind, make } of STORES) {
  describe(`BlobStore contract: ${kind}`, () => {
    let blobs: BlobStore;
    before(async () => {
      blobs = await make();
    });

    test('putFile stores a file whole: stat, etag, full and ranged reads, and the source is consumed', async () => {
      const runId = newRunId();
      const bytes = randomBytes(300_000);
      const source = await localFile(bytes);
      const info = await blobs.putFile(runId, 'scene.glb', source);
      assert.equal(info.bytes, bytes.length);
      assert.match(info.etag, /^"[^"]+"$/, 'a quoted entity tag, usable as an HTTP ETag');
      assert.equal(existsSync(source), false, 'the source file is consumed');
      const stat = await blobs.stat(runId, 'scene.glb');
      assert.equal(stat?.bytes, bytes.length);
      assert.equal(stat?.etag, info.etag, 'stat reports the etag the write returned');
      assert.ok(stat.modifiedAt instanceof Date && !Number.isNaN(stat.modifiedAt.getTime()));
      assert.deepEqual(await readAll(blobs.read(runId, 'scene.glb')), bytes);
      assert.deepEqual(await readAll(blobs.read(runId, 'scene.glb', { start: 1000, end: 1999 })), bytes.subarray(1000, 2000));
      assert.deepEqual(await readAll(blobs.read(runId, 'scene.glb', { start: bytes.length - 1, end: bytes.length - 1 })), bytes.subarray(-1));
      assert.equal(await blobs.stat(runId, 'nothing.glb'), undefined);

      const replaced = await blobs.putFile(runId, 'scene.glb', await localFile(Buffer.from('a smaller scene')));
      assert.equal(replaced.bytes, 15);
      assert.deepEqual(await readAll(blobs.read(runId, 'scene.glb')), Buffer.from('a smaller scene'));
    });

    test('writeJson, list by prefix, copy to another run, remove and deleteRun', async () => {
      const runId = newRunId();
      const other = newRunId();
      await blobs.writeJson(runId, 'metadata.json', { status: 'queued', n: 1 });
      assert.deepEqual(JSON.parse((await readAll(blobs.read(runId, 'metadata.json'))).toString()), { status: 'queued', n: 1 });
      await blobs.putFile(runId, 'images/a.jpg', await localFile(Buffer.from('a')));
      await blobs.putFile(runId, 'images/b.jpg', await localFile(Buffer.from('bb')));
      await blobs.putFile(runId, 'thumbnails/a.jpg.jpg', await localFile(Buffer.from('t')));
      assert.deepEqual((await blobs.list(runId, 'images')).sort(), ['images/a.jpg', 'images/b.jpg']);
      assert.deepEqual((await blobs.list(runId, '')).sort(), ['images/a.jpg', 'images/b.jpg', 'metadata.json', 'thumbnails/a.jpg.jpg']);
      assert.deepEqual(await blobs.list(other, 'images'), [], 'a run without blobs lists nothing');

      await blobs.copy(runId, other, 'images/b.jpg');
      assert.deepEqual(await readAll(blobs.read(other, 'images/b.jpg')), Buffer.from('bb'));
      // Every run has a metadata.json at its top: s3rver's delimiter listing (unlike S3's) misses a
      // run whose objects all sit two folders down.
      await blobs.writeJson(other, 'metadata.json', {});
      assert.ok((await blobs.runIds()).includes(other));

      await blobs.remove(runId, 'images/a.jpg');
      await blobs.remove(runId, 'images/never-there.jpg');
      assert.deepEqual(await blobs.list(runId, 'images'), ['images/b.jpg']);
      assert.deepEqual(await readAll(blobs.read(other, 'images/b.jpg')), Buffer.from('bb'), 'a copy outlives its source run');

      await blobs.deleteRun(runId);
      assert.deepEqual(await blobs.list(runId, ''), []);
      assert.equal((await blobs.runIds()).includes(runId), false);
      assert.ok((await blobs.runIds()).includes(other));
      await blobs.deleteRun(runId);
    });

    test('a staged blob belongs to no run until it is put in place, and appears whole or not at all', async () => {
      const runId = newRunId();
      const bytes = randomBytes(12 * MiB + 123);
      const { body, push, end } = handFed();
      const staging = blobs.stage(body);
      push(bytes.subarray(0, 7 * MiB));
      await settle();
      assert.deepEqual(await blobs.list(runId, ''), [], 'nothing of a half-sent body is in the run');
      assert.equal((await blobs.runIds()).includes(runId), false);
      push(bytes.subarray(7 * MiB));
      end();
      const staged = await staging;
      assert.equal(staged.bytes, bytes.length);
      assert.deepEqual(await blobs.list(runId, ''), [], 'staged, still in no run');

      const info = await blobs.putStaged(runId, 'images/big.jpg', staged);
      assert.equal(info.bytes, bytes.length);
      assert.equal((await blobs.stat(runId, 'images/big.jpg'))?.etag, info.etag);
      assert.deepEqual(await readAll(blobs.read(runId, 'images/big.jpg')), bytes);
      assert.deepEqual(await blobs.sweepStaging(new Date(Date.now() + 60_000)).then((s) => s.blobs), 0, 'putting it in place consumed the staged blob');
    });

    test('putStream writes straight to the key, visible only once whole; a failed one leaves nothing', async () => {
      const runId = newRunId();
      const bytes = randomBytes(11 * MiB);
      const { body, push, end } = handFed();
      const writing = blobs.putStream(runId, 'images/p.jpg', body);
      push(bytes.subarray(0, 6 * MiB));
      await settle();
      assert.equal(await blobs.stat(runId, 'images/p.jpg'), undefined, 'not there while it streams');
      assert.deepEqual(await blobs.list(runId, ''), []);
      push(bytes.subarray(6 * MiB));
      end();
      const info = await writing;
      assert.equal(info.bytes, bytes.length);
      assert.equal((await blobs.stat(runId, 'images/p.jpg'))?.etag, info.etag);
      assert.deepEqual(await readAll(blobs.read(runId, 'images/p.jpg')), bytes);

      const failing = handFed();
      const refused = blobs.putStream(runId, 'images/q.jpg', failing.body);
      failing.push(randomBytes(6 * MiB));
      await settle();
      failing.fail(new Error('too large'));
      await assert.rejects(refused, /too large/);
      assert.deepEqual(await blobs.list(runId, ''), ['images/p.jpg']);
      assert.equal((await blobs.sweepStaging(new Date(Date.now() + 60_000))).blobs, 0, 'and nothing in staging either');
      await assert.rejects(blobs.putStream(runId, '../escape.jpg', Readable.from([Buffer.from('x')])), /Invalid blob key/);
    });

    test('a body that fails half-way leaves nothing staged, and the caller gets the body’s own error', async () => {
      const { body, push, fail } = handFed();
      const staging = blobs.stage(body);
      push(randomBytes(6 * MiB));
      await settle();
      fail(new Error('not an image after all'));
      await assert.rejects(staging, /not an image after all/);
      const swept = await blobs.sweepStaging(new Date(Date.now() + 60_000));
      assert.equal(swept.blobs, 0, 'no staged blob was left behind');
    });

    test('stageFile keeps the source; discard and the staging sweep remove staged blobs by age', async () => {
      const source = await localFile(Buffer.from('kept'));
      const fresh = await blobs.stageFile(source);
      assert.equal(fresh.bytes, 4);
      assert.equal(existsSync(source), true);
      const discarded = await blobs.stageFile(source);
      await blobs.discard(discarded);
      assert.equal((await blobs.sweepStaging(new Date(Date.now() - 60_000))).blobs, 0, 'nothing is older than a minute ago');
      assert.equal((await blobs.sweepStaging(new Date(Date.now() + 60_000))).blobs, 1, 'only the one not discarded was left');
      await assert.rejects(blobs.putStaged(newRunId(), 'images/x.jpg', fresh), 'a swept staged blob is gone');
      await assert.rejects(blobs.putStaged(newRunId(), 'images/x.jpg', { ref: '/etc/passwd', bytes: 1 }), /Not a staged blob/);
    });

    test('localPath gives a file on this machine with the blob’s bytes', async () => {
      const runId = newRunId();
      const bytes = randomBytes(50_000);
      await blobs.putFile(runId, 'images/photo 1.jpg', await localFile(bytes));
      const scratch = await mkdtemp(join(work, 'scratch-'));
      const path = await blobs.localPath(runId, 'images/photo 1.jpg', scratch);
      assert.deepEqual(await readFile(path), bytes);
      assert.match(path, /photo 1\.jpg$/, 'the file keeps the image’s name (engines see it)');
      if (kind === 's3') assert.ok(path.startsWith(scratch), 'a remote store downloads into the scratch folder');
    });

    test('keys and run ids that could step outside the run are refused', async () => {
      const runId = newRunId();
      const source = await localFile(Buffer.from('x'));
      for (const key of ['../other/scene.glb', 'images/../../x', '/etc/passwd', 'images/..', 'a\\..\\b', 'nul\0byte']) {
        await assert.rejects(blobs.putFile(runId, key, source), /Invalid blob key/, key);
        await assert.rejects(blobs.stat(runId, key), /Invalid blob key/, key);
        assert.throws(() => blobs.read(runId, key), /Invalid blob key/, key);
      }
      for (const id of ['../run_1700000000000_abcdefgh', 'run_1/../x', '']) {
        await assert.rejects(blobs.stat(id, 'scene.glb'), /Invalid run id/, id);
        await assert.rejects(blobs.deleteRun(id), /Invalid run id/, id);
      }
      assert.equal(existsSync(source), true, 'nothing was moved');
    });
  });
}

describe('S3BlobStore beyond s3rver', () => {
  test('check() says what to fix when the bucket cannot be used', async () => {
    await s3Store().check();
    const missing = new S3BlobStore({ client: s3.client, options: { bucket: 'no-such-bucket', prefix: '', partBytes: PART_BYTES, partConcurrency: 1, presignSeconds: 60 } });
    await assert.rejects(missing.check(), /The S3 bucket "no-such-bucket" cannot be used: it does not exist\. Check S3_BUCKET, S3_ENDPOINT/);
  });

  test('presigned download URLs serve the object with the file name and type asked for', async () => {
    const blobs = s3Store();
    const runId = newRunId();
    await blobs.putFile(runId, 'scene.glb', await localFile(Buffer.from('glTF scene')));
    const url = await blobs.downloadUrl(runId, 'scene.glb', { fileName: `${runId}-scene.glb`, contentType: 'model/gltf-binary' });
    assert.match(url, /X-Amz-Expires=60/);
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'model/gltf-binary');
    assert.equal(response.headers.get('content-disposition'), `attachment; filename="${runId}-scene.glb"`);
    assert.equal(await response.text(), 'glTF scene');
    const ranged = await fetch(url, { headers: { range: 'bytes=5-9' } });
    assert.equal(ranged.status, 206);
    assert.equal(await ranged.text(), 'scene');
  });

  // s3rver implements neither AbortMultipartUpload nor ListMultipartUploads: these paths are checked
  // at the SDK's send() boundary, with every other command going to the real server.
  test('a multipart stage that fails is aborted (AbortMultipartUpload with its UploadId) and its key deleted', async () => {
    const client = new RecordingS3Client(s3.config, { AbortMultipartUploadCommand: () => ({}) });
    const blobs = s3Store(client);
    const { body, push, fail } = handFed();
    const staging = blobs.stage(body);
    push(randomBytes(6 * MiB));
    await client.waitFor('UploadPartCommand');
    fail(new Error('client went away'));
    await assert.rejects(staging, /client went away/);
    const created = client.commands.find((c) => c.name === 'CreateMultipartUploadCommand');
    const aborted = client.commands.find((c) => c.name === 'AbortMultipartUploadCommand');
    assert.ok(created && aborted, `commands sent: ${client.names().join(', ')}`);
    assert.equal(aborted.input.Key, created.input.Key);
    assert.equal(aborted.input.UploadId, client.results.get(created)?.UploadId);
    assert.equal(client.names().includes('CompleteMultipartUploadCommand'), false);
    const deleted = client.commands.find((c) => c.name === 'DeleteObjectCommand');
    assert.equal(deleted?.input.Key, created.input.Key, 'and the key is deleted, for services that keep cut-off PUTs');
    assert.deepEqual(await s3.keys(created.input.Key), []);
  });

  test('the staging sweep aborts multipart uploads older than the cut-off, and says when the service cannot list them', async () => {
    const old = new Date(Date.now() - 3 * 86_400_000);
    const client = new RecordingS3Client(s3.config, {
      ListMultipartUploadsCommand: () => ({
        Uploads: [
          { Key: 'contract/staging/0000000000001-abcdefghij', UploadId: 'old-upload', Initiated: old },
          { Key: 'contract/staging/9999999999999-abcdefghij', UploadId: 'fresh-upload', Initiated: new Date() },
        ],
        IsTruncated: false,
      }),
      AbortMultipartUploadCommand: () => ({}),
    });
    const swept = await s3Store(client).sweepStaging(new Date(Date.now() - 86_400_000));
    assert.equal(swept.multipartUploads, 1);
    const listed = client.commands.find((c) => c.name === 'ListMultipartUploadsCommand');
    assert.equal(listed?.input.Prefix, 'contract/', 'only uploads under the store’s prefix');
    assert.deepEqual(
      client.commands.filter((c) => c.name === 'AbortMultipartUploadCommand').map((c) => c.input.UploadId),
      ['old-upload'],
    );
    assert.equal((await s3Store().sweepStaging(new Date())).multipartUploads, 'unsupported', 's3rver answers NotImplemented');
  });
});

/** A real S3 client that records every command and answers the ones named in `answers` itself. */
class RecordingS3Client extends S3Client {
  readonly commands: { name: string; input: any }[] = [];
  readonly results = new Map<{ name: string; input: any }, any>();
  readonly #answers: Record<string, (input: any) => unknown>;
  readonly #waiters: { name: string; resolve: () => void }[] = [];

  constructor(config: TestS3['config'], answers: Record<string, (input: any) => unknown>) {
    super({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: true,
      credentials: config.credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.#answers = answers;
  }

  names(): string[] {
    return this.commands.map((c) => c.name);
  }

  waitFor(name: string): Promise<void> {
    if (this.names().includes(name)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ name, resolve }));
  }

  override send(command: any, ...rest: any[]): any {
    const entry = { name: command.constructor.name as string, input: command.input };
    this.commands.push(entry);
    const answer = this.#answers[entry.name];
    const result = answer ? Promise.resolve(answer(entry.input)) : (super.send as any)(command, ...rest);
    return result.then((value: any) => {
      this.results.set(entry, value);
      for (const waiter of this.#waiters.filter((w) => w.name === entry.name)) waiter.resolve();
      return value;
    });
  }
}
