import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeImage, multipart } from '../helpers/images.ts';
import { BLOB_MODES, jsonBody, startTestServer, type TestServer } from '../helpers/recon.ts';
import { waitForStatus } from '../helpers/runs.ts';

describe('artifact downloads from S3', { skip: !BLOB_MODES.includes('s3') && 'RECON_TEST_BLOBS leaves S3 out' }, () => {
  let proxy: TestServer;
  let redirect: TestServer;
  before(async () => {
    [proxy, redirect] = await Promise.all([
      startTestServer('pglite', {}, { blobs: 's3' }),
      startTestServer('pglite', { S3_DOWNLOADS: 'redirect', S3_PRESIGN_SECONDS: '120' }, { blobs: 's3' }),
    ]);
  });
  after(async () => {
    await proxy?.close();
    await redirect?.close();
  });

  const completedRun = async (server: TestServer) => {
    const runId = (await server.json('/api/runs', jsonBody({ engine: 'test', settings: { stepMs: 1 } }))).body.runId as string;
    await server.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart([{ name: 'a.jpg', data: await makeImage(1) }]) });
    await server.json(`/api/runs/${runId}/process`, { method: 'POST' });
    const run = await waitForStatus(server, runId, ['completed', 'failed']);
    assert.equal(run.status, 'completed', run.error);
    return runId;
  };

  test('proxied: ranged GETs against the bucket keep Range, ETag, Content-Type and Content-Disposition', async () => {
    const runId = await completedRun(proxy);
    const url = `/api/runs/${runId}/artifacts/glb`;
    const whole = await proxy.fetch(url);
    const bytes = Buffer.from(await whole.arrayBuffer());
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'model/gltf-binary');
    assert.equal(whole.headers.get('content-disposition'), `attachment; filename="${runId}-scene.glb"`);
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    const etag = whole.headers.get('etag') ?? '';
    assert.match(etag, /^"[0-9a-f]{32}"$/, 'the object’s own ETag');
    const ranged = await proxy.fetch(url, { headers: { range: 'bytes=4-11' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 4-11/${bytes.length}`);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), bytes.subarray(4, 12));
    const suffix = await proxy.fetch(url, { headers: { range: 'bytes=-16' } });
    assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), bytes.subarray(-16));
    assert.equal((await proxy.fetch(url, { headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await proxy.fetch(url, { headers: { range: `bytes=${bytes.length}-` } })).status, 416);
  });

  test('S3_DOWNLOADS=redirect: 302 to a short-lived presigned URL that serves the same bytes (with Range); If-None-Match still gets 304', async () => {
    const runId = await completedRun(redirect);
    const url = `/api/runs/${runId}/artifacts/glb`;
    const answer = await redirect.fetch(url, { redirect: 'manual' });
    assert.equal(answer.status, 302);
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    const location = answer.headers.get('location') ?? '';
    assert.match(location, /X-Amz-Signature=/);
    assert.match(location, /X-Amz-Expires=120/);
    const etag = answer.headers.get('etag') ?? '';
    const followed = await fetch(location);
    assert.equal(followed.status, 200);
    assert.equal(followed.headers.get('content-type'), 'model/gltf-binary');
    assert.equal(followed.headers.get('content-disposition'), `attachment; filename="${runId}-scene.glb"`);
    assert.equal(followed.headers.get('etag'), etag);
    const bytes = Buffer.from(await followed.arrayBuffer());
    assert.equal(bytes.subarray(0, 4).toString(), 'glTF');
    const ranged = await fetch(location, { headers: { range: 'bytes=0-3' } });
    assert.equal(ranged.status, 206);
    assert.equal(await ranged.text(), 'glTF');
    assert.equal((await redirect.fetch(url, { redirect: 'manual', headers: { 'if-none-match': etag } })).status, 304);
    const followedByClient = await redirect.fetch(url);
    assert.deepEqual(Buffer.from(await followedByClient.arrayBuffer()), bytes, 'fetch follows the redirect to the same bytes');
  });
});
