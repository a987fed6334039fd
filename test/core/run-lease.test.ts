import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RunExecution } from '../../src/core/run-execution.ts';
import { RunEventsRepository } from '../../src/db/run-events-repository.ts';
import { RunsRepository } from '../../src/db/runs-repository.ts';
import { RunStagesRepository } from '../../src/db/run-stages-repository.ts';
import { makeImage, multipart } from '../helpers/images.ts';
import { FILE_SETUPS, jsonBody, startTestServer, type TestServer } from '../helpers/recon.ts';
import { waitForStatus } from '../helpers/runs.ts';

for (const setup of FILE_SETUPS) {
  describe(`run leases across workers (${setup.label})`, () => {
    let server: TestServer;
    let execution: RunExecution;
    let runs: RunsRepository;
    before(async () => {
      // No workers here: the test plays two of them by calling the worker's side directly.
      server = await startTestServer(setup.store, { RECON_WORKERS: '0' }, { blobs: setup.blobs });
      runs = new RunsRepository(server.recon.store.db);
      execution = new RunExecution({ runs, stages: new RunStagesRepository(server.recon.store.db), events: new RunEventsRepository(server.recon.store.db), blobs: server.recon.blobs, service: server.recon.runs });
    });
    after(() => server?.close());

    const queuedRun = async () => {
      const runId = (await server.json('/api/runs', jsonBody({ engine: 'test' }))).body.runId as string;
      assert.equal((await server.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart([{ name: 'a.jpg', data: await makeImage(1) }]) })).status, 200);
      assert.equal((await server.json(`/api/runs/${runId}/process`, { method: 'POST' })).status, 202);
      const row = await runs.find(runId);
      return { runId, token: row?.job_token ?? '' };
    };
    const file = async (content: string) => {
      const path = join(await mkdtemp(join(tmpdir(), 'recon-lease-')), 'scene.glb');
      await writeFile(path, content);
      return path;
    };

    test('a job taken again fences the worker that had it: its artifacts and writes are refused, never served', async () => {
      const job = await queuedRun();
      const first = await execution.claim(job, { name: 'worker-a', costPerHour: 0 });
      assert.ok(first);
      assert.equal(first.lease.attempt, 1);
      await execution.putArtifact(first.lease, 'predictions', await file('from worker a, attempt 1'));
      assert.ok((await server.json(`/api/runs/${job.runId}`)).body.artifacts.predictions);

      // worker-a stops beating; pg-boss hands the same job (same token) to worker-b.
      const second = await execution.claim(job, { name: 'worker-b', costPerHour: 0 });
      assert.ok(second);
      assert.equal(second.lease.attempt, 2);
      const taken = (await server.json(`/api/runs/${job.runId}`)).body;
      assert.equal(taken.worker, 'worker-b');
      assert.equal(taken.attempt, 2);
      assert.deepEqual(taken.artifacts, {}, 'a new attempt starts with no artifacts: the first attempt’s are not served');
      assert.equal((await server.fetch(`/api/runs/${job.runId}/artifacts/predictions`)).status, 404);

      assert.equal(await execution.holds(first.lease), false);
      assert.equal(await execution.holds(second.lease), true);
      await execution.putArtifact(second.lease, 'glb', await file('from worker b'));
      await execution.putArtifact(first.lease, 'glb', await file('late write from worker a'));
      await execution.recordProgress(first.lease, 'inference', 0.9, 'worker a still thinks it runs');
      assert.equal(await execution.complete(first.lease), false, 'the old worker cannot finish the run');

      const glb = await server.fetch(`/api/runs/${job.runId}/artifacts/glb`);
      assert.equal(await glb.text(), 'from worker b', 'what is stored and served is the new attempt’s');
      assert.notEqual((await server.json(`/api/runs/${job.runId}`)).body.message, 'worker a still thinks it runs');
      assert.equal(await execution.complete(second.lease), true);
      const done = (await server.json(`/api/runs/${job.runId}`)).body;
      assert.equal(done.status, 'completed');
      assert.deepEqual(Object.keys(done.artifacts), ['glb']);
      assert.deepEqual(await server.staged(), [], 'the refused artifact’s staged copy is gone too');
    });

    test('a stale job (its run re-queued under a new token) claims nothing', async () => {
      const job = await queuedRun();
      const claimed = await execution.claim(job, { name: 'worker-a', costPerHour: 0 });
      assert.ok(claimed);
      await execution.requeue(claimed.lease, 'worker shut down mid-run; re-queued');
      assert.equal(await execution.claim(job, { name: 'worker-b', costPerHour: 0 }), undefined);
    });
  });
}

describe('GET /api/workers', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('pglite', { RECON_WORKER_NAME: 'gpu-box-1', RECON_ENGINE_CONCURRENCY: '1' });
  });
  after(() => server?.close());

  test('lists the live worker with its name, engines, version, heartbeat and the runs it holds', async () => {
    const { status, body } = await server.json('/api/workers');
    assert.equal(status, 200);
    assert.equal(body.workers.length, 1);
    const [worker] = body.workers;
    assert.equal(worker.name, 'gpu-box-1');
    assert.ok(worker.engines.includes('test'), worker.engines);
    assert.equal(worker.version, (await server.json('/api/health')).body.version);
    assert.ok(Date.now() - Date.parse(worker.lastHeartbeatAt) < 60_000);
    assert.deepEqual(worker.runs, []);

    const runId = (await server.json('/api/runs', jsonBody({ engine: 'test', settings: { steps: 20, stepMs: 100 } }))).body.runId;
    await server.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart([{ name: 'a.jpg', data: await makeImage(1) }]) });
    await server.json(`/api/runs/${runId}/process`, { method: 'POST' });
    const deadline = Date.now() + 20_000;
    let busy: { runs: string[]; runsInProgress: number } | undefined;
    while (Date.now() < deadline) {
      busy = (await server.json('/api/workers')).body.workers[0];
      if (busy?.runs.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(busy?.runs, [runId]);
    assert.equal(busy?.runsInProgress, 1);
    const run = await waitForStatus(server, runId, ['completed', 'failed'], 30_000);
    assert.equal(run.worker, 'gpu-box-1', 'the run records the worker that ran it');
  });
});
