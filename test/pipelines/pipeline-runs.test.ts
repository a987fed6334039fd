import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeImage, multipart } from '../helpers/images.ts';
import { jsonBody, STORE_MODES, startTestServer, type TestServer } from '../helpers/recon.ts';
import { waitForStatus } from '../helpers/runs.ts';

const FAST = { make: { stepMs: 1, steps: 2 }, use: { stepMs: 1, steps: 3 }, finish: { stepMs: 1, steps: 2 } };

for (const mode of STORE_MODES) {
  describe(`multi-stage runs (${mode})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(mode, { RECON_WORKER_COST_PER_HOUR: '3600' });
    });
    after(() => server?.close());

    const start = async (body: Record<string, unknown>, images = 3) => {
      const created = await server.json('/api/runs', jsonBody(body));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const runId = created.body.runId as string;
      const files = await Promise.all(Array.from({ length: images }, async (_, i) => ({ name: `p${i}.jpg`, data: await makeImage(i) })));
      assert.equal((await server.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart(files) })).status, 200);
      assert.equal((await server.json(`/api/runs/${runId}/process`, { method: 'POST' })).status, 202);
      return runId;
    };
    const events = async (runId: string) => {
      const text = await (await server.fetch(`/api/runs/${runId}/stream`)).text();
      return text
        .split('\n\n')
        .filter((f) => f.includes('data: '))
        .map((f) => JSON.parse(f.slice(f.indexOf('data: ') + 6)));
    };

    test('each stage is its own job on its engine, in order, with status, timings, worker, cost and logs', async () => {
      const runId = await start({ engine: 'test-pipeline', settings: FAST });
      const run = await waitForStatus(server, runId, ['completed', 'failed']);
      assert.equal(run.status, 'completed', run.error);
      assert.equal(run.engine, 'test-pipeline');
      assert.deepEqual(
        run.stages.map((s: { name: string; engine: string; status: string }) => [s.name, s.engine, s.status]),
        [
          ['make', 'test', 'completed'],
          ['use', 'test-stage', 'completed'],
          ['finish', 'test-stage', 'completed'],
        ],
      );
      for (const stage of run.stages) {
        assert.equal(stage.attempt, 1);
        assert.ok(stage.worker, 'the worker is recorded');
        assert.equal(stage.costPerHour, 3600);
        assert.ok(stage.seconds > 0 && stage.seconds < 30, `seconds ${stage.seconds}`);
        assert.ok(Math.abs(stage.cost - stage.seconds) < 1e-6, 'cost = seconds × 3600/h');
        assert.ok(stage.startedAt && stage.finishedAt);
      }
      assert.deepEqual(run.stages[2].summary, { cameras: 3, steps: 2 });
      assert.deepEqual(run.stages[1].details, { step: 3 });
      assert.ok(Math.abs(run.usage.seconds - run.stages.reduce((s: number, x: { seconds: number }) => s + x.seconds, 0)) < 1e-9);
      assert.deepEqual(Object.keys(run.artifacts).sort(), ['glb', 'ply', 'predictions', 'preview']);

      const stream = await events(runId);
      const stageEvents = stream.filter((e) => e.type === 'stage').map((e) => `${e.pipelineStage}:${e.status}`);
      assert.deepEqual(stageEvents, ['make:waiting', 'make:running', 'make:completed', 'use:waiting', 'use:running', 'use:completed', 'finish:waiting', 'finish:running', 'finish:completed']);
      const logs = stream.filter((e) => e.type === 'log' && e.pipelineStage === 'use').flatMap((e) => e.lines);
      assert.ok(logs.some((l: string) => l.includes('artifact ply stored')), 'log lines name their stage');
      const progress = stream.filter((e) => e.type === 'progress' || (e.type === 'status' && e.pipelineStage));
      assert.ok(progress.some((e) => e.pipelineStage === 'use' && e.stageProgress === 1));
      const bands: Record<string, [number, number]> = { make: [0, 1 / 3], use: [1 / 3, 2 / 3], finish: [2 / 3, 1] };
      for (const event of progress) {
        const [lo, hi] = bands[event.pipelineStage]!;
        assert.ok(event.progress >= lo - 1e-9 && event.progress <= hi + 1e-9, `run progress counts the stages before: ${JSON.stringify(event)}`);
      }
    });

    test('a stale job (an old token, e.g. a stage re-queued meanwhile) changes nothing', async () => {
      const runId = await start({ engine: 'test-pipeline', settings: FAST });
      const done = await waitForStatus(server, runId, ['completed', 'failed']);
      const before = (await events(runId)).length;
      await server.recon.worker!.handle({ runId, token: 'not-the-current-token' });
      const after = await server.json(`/api/runs/${runId}`);
      assert.deepEqual(after.body.stages, done.stages);
      assert.equal(after.body.status, 'completed');
      assert.equal((await events(runId)).length, before, 'not even an event');
    });

    test('GET /api/engines lists the pipeline and its stages; analytics add up time and cost per stage and engine', async () => {
      const { body } = await server.json('/api/engines');
      const pipeline = body.engines.find((e: { id: string }) => e.id === 'test-pipeline');
      assert.deepEqual(pipeline.stages, [
        { name: 'make', engine: 'test' },
        { name: 'use', engine: 'test-stage' },
        { name: 'finish', engine: 'test-stage' },
      ]);
      assert.equal(pipeline.available, true);
      assert.deepEqual(body.engines.find((e: { id: string }) => e.id === 'test-stage').consumes, ['predictions']);

      const { body: summary } = await server.json('/api/analytics/summary');
      const use = summary.usage.byStage.find((s: { stage: string }) => s.stage === 'use');
      const stageEngine = summary.usage.byEngine.find((s: { engine: string }) => s.engine === 'test-stage');
      assert.ok(use.stages >= 1 && use.seconds > 0 && Math.abs(use.cost - use.seconds) < 1e-6, JSON.stringify(use));
      assert.ok(stageEngine.stages >= use.stages, 'the engine ran "use" and "finish"');
      const byStage = summary.usage.byStage.reduce((s: number, x: { seconds: number }) => s + x.seconds, 0);
      assert.ok(Math.abs(summary.usage.seconds - byStage) < 1e-6, 'the total is the sum of the stages');
    });

    test('a failed stage fails the run, named; a rerun from that stage reuses the earlier outputs', async () => {
      const runId = await start({ engine: 'test-pipeline', settings: { ...FAST, finish: { stepMs: 1, steps: 2, failWith: 'permanent' } } });
      const failed = await waitForStatus(server, runId, ['completed', 'failed']);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error, 'Stage "finish" failed: simulated stage failure');
      assert.deepEqual(
        failed.stages.map((s: { status: string }) => s.status),
        ['completed', 'completed', 'failed'],
      );
      assert.equal(failed.stages[2].error, 'simulated stage failure');

      const changed = await server.json(`/api/runs/${runId}/rerun`, jsonBody({ fromStage: 'finish', settings: { use: { steps: 4 } } }));
      assert.equal(changed.status, 400);
      assert.equal(changed.body.code, 'STAGE_SETTINGS_CHANGED');
      const unknown = await server.json(`/api/runs/${runId}/rerun`, jsonBody({ fromStage: 'polish' }));
      assert.equal(unknown.body.code, 'UNKNOWN_STAGE');
      assert.deepEqual(unknown.body.stages, ['make', 'use', 'finish']);

      const rerun = await server.json(`/api/runs/${runId}/rerun`, jsonBody({ fromStage: 'finish', settings: { finish: { failWith: 'none' } } }));
      assert.equal(rerun.status, 202, JSON.stringify(rerun.body));
      const child = await waitForStatus(server, rerun.body.runId, ['completed', 'failed']);
      assert.equal(child.status, 'completed', child.error);
      assert.equal(child.parentRunId, runId);
      assert.deepEqual(
        child.stages.map((s: { status: string; reusedFrom?: string }) => [s.status, s.reusedFrom]),
        [
          ['reused', runId],
          ['reused', runId],
          ['completed', undefined],
        ],
      );
      assert.equal(child.stages[0].seconds, 0, 'a reused stage costs this run nothing');
      assert.equal(child.settings.finish.failWith, 'none');
      assert.equal(child.settings.finish.steps, 2, "the parent's other settings are kept");
      const childEvents = await events(child.runId);
      assert.deepEqual(
        childEvents.filter((e) => e.type === 'stage' && e.status === 'running').map((e) => e.pipelineStage),
        ['finish'],
        'only the stage rerun ran',
      );
      for (const kind of ['predictions', 'glb', 'ply']) {
        assert.equal((await server.fetch(`/api/runs/${child.runId}/artifacts/${kind}`)).status, 200, kind);
      }

      // The stage before "finish" failed in neither run, but a run whose "use" failed cannot be rerun from "finish".
      const early = await start({ engine: 'test-pipeline', settings: { ...FAST, use: { stepMs: 1, steps: 1, failWith: 'permanent' } } });
      await waitForStatus(server, early, ['failed']);
      const missing = await server.json(`/api/runs/${early}/rerun`, jsonBody({ fromStage: 'finish' }));
      assert.equal(missing.status, 409);
      assert.equal(missing.body.code, 'STAGE_OUTPUTS_MISSING');
    });

    test('a pipeline can start from a completed run; stage engines cannot be run alone', async () => {
      const alone = await server.json('/api/runs', jsonBody({ engine: 'test-stage' }));
      assert.equal(alone.status, 400);
      assert.equal(alone.body.code, 'ENGINE_IS_A_STAGE');

      const source = await start({ engine: 'test', settings: { stepMs: 1, steps: 2 } }, 2);
      const pending = await server.json('/api/runs', jsonBody({ engine: 'test' }));
      const notDone = await server.json('/api/runs', jsonBody({ engine: 'test-pipeline', fromRun: pending.body.runId }));
      assert.equal(notDone.status, 422);
      assert.equal(notDone.body.code, 'SOURCE_RUN_UNUSABLE');
      const plain = await server.json('/api/runs', jsonBody({ engine: 'test', fromRun: source }));
      assert.equal(plain.body.code, 'NOT_A_PIPELINE');

      await waitForStatus(server, source, ['completed']);
      const created = await server.json('/api/runs', jsonBody({ engine: 'test-pipeline', fromRun: source, settings: FAST }));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.status, 'processing', 'queued at once: it has its inputs');
      const run = await waitForStatus(server, created.body.runId, ['completed', 'failed']);
      assert.equal(run.status, 'completed', run.error);
      assert.deepEqual(run.images, ['p0.jpg', 'p1.jpg']);
      assert.equal(run.stages[0].status, 'reused');
      assert.equal(run.stages[0].engine, 'test');
      assert.equal(run.stages[0].reusedFrom, source);
      assert.deepEqual(run.stages[2].summary, { cameras: 2, steps: 2 });
    });
  });
}
