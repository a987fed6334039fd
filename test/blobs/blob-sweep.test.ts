import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { BlobSweep } from '../../src/core/blob-sweep.ts';
import { RunsRepository } from '../../src/db/runs-repository.ts';
import { newRunId } from '../../src/domain/ids.ts';
import { makeImage, multipart } from '../helpers/images.ts';
import { FILE_SETUPS, jsonBody, startTestServer, type TestServer } from '../helpers/recon.ts';

for (const setup of FILE_SETUPS) {
  describe(`sweeping blobs no committed row mentions (${setup.label})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(setup.store, { RECON_WORKERS: '0' }, { blobs: setup.blobs });
    });
    after(() => server?.close());

    const file = async (content: Buffer | string) => {
      const path = join(await mkdtemp(join(tmpdir(), 'recon-sweep-')), 'f');
      await writeFile(path, content);
      return path;
    };

    test('what a crash between a write and its commit leaves is never served, and the sweep removes it', async () => {
      const blobs = server.recon.blobs;
      const repo = new RunsRepository(server.recon.store.db);
      const runId = (await server.json('/api/runs', jsonBody({ engine: 'test' }))).body.runId as string;
      const upload = await server.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart([{ name: 'kept.jpg', data: await makeImage(1) }]) });
      assert.equal(upload.status, 200);

      // As a crash would leave them: bytes in place whose transaction never committed…
      await blobs.putFile(runId, 'images/ghost.jpg', await file(await makeImage(2)));
      await blobs.putFile(runId, 'scene.glb', await file('glTF of an attempt that never recorded it'));
      // …an upload that reserved a name, wrote its bytes and died…
      await repo.transaction((trx) => repo.reserveImageName(runId, 'reserved.jpg', 'dead-upload', trx));
      await blobs.putFile(runId, 'images/reserved.jpg', await file(await makeImage(3)));
      // …a staged artifact, and the files of a run whose row was deleted.
      await blobs.stage(Readable.from([Buffer.from('staged artifact')]));
      const deleted = newRunId(Date.now() - 3600_000);
      await blobs.writeJson(deleted, 'metadata.json', { status: 'completed' });
      await blobs.putFile(deleted, 'scene.glb', await file('glTF'));

      for (const name of ['ghost.jpg', 'reserved.jpg']) {
        assert.equal((await server.fetch(`/api/runs/${runId}/images/${name}`)).status, 404, `${name} is not served`);
      }
      assert.equal((await server.fetch(`/api/runs/${runId}/artifacts/glb`)).status, 404, 'an unrecorded artifact is not served');
      assert.deepEqual((await server.json(`/api/runs/${runId}`)).body.images, ['kept.jpg']);

      const sweep = new BlobSweep({ runs: repo, blobs });
      // Writes under way are safe: with nothing old enough, only the rows' own view counts.
      const early = await sweep.sweep(new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
      assert.deepEqual(early.uncommitted.sort(), [`${runId}/images/ghost.jpg`, `${runId}/scene.glb`]);
      assert.equal(early.staged, 0, 'a fresh staged blob may belong to a write under way');
      assert.deepEqual(early.orphanRuns, [deleted]);
      assert.deepEqual((await blobs.list(runId, '')).sort(), ['images/kept.jpg', 'images/reserved.jpg', 'metadata.json']);

      const late = await sweep.sweep(new Date(Date.now() + 60_000));
      assert.deepEqual(late.uncommitted, [`${runId}/images/reserved.jpg`]);
      assert.equal(late.staged, 1);
      assert.deepEqual((await blobs.list(runId, '')).sort(), ['images/kept.jpg', 'metadata.json']);
      assert.deepEqual(await repo.reservedImageNames(runId), []);
      assert.deepEqual(await blobs.list(deleted, ''), []);
      assert.deepEqual(await server.staged(), []);
      assert.equal((await server.fetch(`/api/runs/${runId}/images/kept.jpg`)).status, 200, 'committed files stay');
    });
  });
}
