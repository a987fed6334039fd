import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeImage, multipart } from '../helpers/images.ts';
import { jsonBody, STORE_MODES, startTestServer, type TestServer } from '../helpers/recon.ts';
import { waitForStatus } from '../helpers/runs.ts';

/** The value of one sample line, e.g. `recon_runs_total{engine="test",status="completed"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

for (const mode of STORE_MODES) {
  describe(`metrics and analytics (${mode})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(mode, { RECON_ENGINE_CONCURRENCY: '1' });
    });
    after(() => server?.close());

    async function run(images: number, settings: Record<string, unknown>, process = true) {
      const { body } = await server.json('/api/runs', jsonBody({ engine: 'test', settings: { stepMs: 5, ...settings } }));
      if (images) {
        const files = await Promise.all(Array.from({ length: images }, async (_, i) => ({ name: `i${i}.jpg`, data: await makeImage(i) })));
        assert.equal((await server.fetch(`/api/runs/${body.runId}/images`, { method: 'POST', body: multipart(files) })).status, 200);
      }
      if (process) assert.equal((await server.fetch(`/api/runs/${body.runId}/process`, { method: 'POST' })).status, 202);
      return body.runId as string;
    }

    async function scrapeUntil(predicate: (text: string) => boolean) {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const response = await server.fetch('/metrics');
        assert.equal(response.status, 200);
        assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
        const text = await response.text();
        if (predicate(text)) return text;
        if (Date.now() > deadline) throw new Error(`metrics never matched:\n${text.split('\n').filter((l) => l.startsWith('recon_')).join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    test('/metrics after a few runs, and the analytics summary computed in SQL', async () => {
      const completed = [await run(1, { confThreshold: 30 }), await run(2, { confThreshold: 30 }), await run(3, { confThreshold: 45 })];
      const failed = await run(1, { failWith: 'permanent' });
      const canceled = await run(0, {}, false);
      assert.equal((await server.fetch(`/api/runs/${canceled}/cancel`, { method: 'POST' })).status, 200);
      for (const id of completed) assert.equal((await waitForStatus(server, id, ['completed', 'failed'])).status, 'completed');
      assert.equal((await waitForStatus(server, failed, ['completed', 'failed'])).status, 'failed');

      const text = await scrapeUntil((t) => sample(t, 'recon_runs_total{engine="test",status="completed"}') === 3 && sample(t, 'recon_images_per_run_count{engine="test"}') === 5);
      assert.equal(sample(text, 'recon_runs_total{engine="test",status="failed"}'), 1);
      assert.equal(sample(text, 'recon_runs_total{engine="test",status="canceled"}'), 1);
      assert.equal(sample(text, 'recon_images_per_run_sum{engine="test"}'), 1 + 2 + 3 + 1 + 0);
      assert.equal(sample(text, 'recon_run_duration_seconds_count{engine="test",stage="total"}'), 4, 'every run that started');
      assert.ok((sample(text, 'recon_run_duration_seconds_count{engine="test",stage="inference"}') ?? 0) >= 4);
      assert.ok((sample(text, 'recon_run_duration_seconds_count{engine="test",stage="waiting"}') ?? 0) >= 4);
      assert.equal(sample(text, 'recon_queue_depth{engine="test"}'), 0);
      assert.equal(sample(text, 'recon_runs_in_progress{engine="test"}'), 0);
      assert.equal(sample(text, 'recon_http_request_duration_seconds_count{method="POST",route="/api/runs",status_code="201"}'), 5);
      assert.equal(sample(text, 'recon_http_request_duration_seconds_count{method="POST",route="/api/runs/:runId/process",status_code="202"}'), 4);
      assert.ok((sample(text, 'recon_http_request_duration_seconds_count{method="GET",route="/api/runs/:runId",status_code="200"}') ?? 0) > 0);
      assert.ok((sample(text, 'recon_upload_bytes_total{route="/api/runs/:runId/images"}') ?? 0) > 7 * 300, 'seven small JPEGs');
      assert.ok(sample(text, 'process_cpu_user_seconds_total') !== undefined, 'default process metrics');
      assert.ok(sample(text, 'nodejs_heap_size_used_bytes') !== undefined);
      assert.doesNotMatch(text, /route="\/api\/runs\/run_/, 'routes are patterns, never raw URLs');

      const { status, body: summary } = await server.json('/api/analytics/summary');
      assert.equal(status, 200, JSON.stringify(summary));
      assert.equal(summary.totals.runs, 5);
      assert.deepEqual(summary.totals.byStatus, { canceled: 1, completed: 3, failed: 1 });
      assert.equal(summary.averages.imagesPerRun, 7 / 5);
      const runs = await Promise.all(completed.map(async (id) => (await server.json(`/api/runs/${id}`)).body));
      const seconds = runs.map((r) => (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000);
      const expected = seconds.reduce((a, b) => a + b, 0) / seconds.length;
      assert.ok(Math.abs(summary.averages.processingSeconds - expected) < 0.002, `${summary.averages.processingSeconds} vs ${expected}`);
      const [engine] = summary.engines;
      assert.equal(summary.engines.length, 1);
      assert.equal(engine.engine, 'test');
      assert.deepEqual([engine.runs, engine.completed, engine.failed, engine.canceled, engine.queued, engine.processing], [5, 3, 1, 1, 0, 0]);
      assert.equal(engine.avgImagesPerRun, 7 / 5);
      const conf = summary.mostCommonSettings.find((s: any) => s.key === 'confThreshold');
      assert.deepEqual(conf, { engine: 'test', key: 'confThreshold', value: 30, runs: 2 });
      assert.deepEqual(summary.mostCommonSettings.find((s: any) => s.key === 'stepMs'), { engine: 'test', key: 'stepMs', value: 5, runs: 5 });
      assert.equal(engine.mostCommonSettings[0].runs, 2, 'the settings of the two confThreshold 30 runs');
      assert.equal(engine.mostCommonSettings[0].settings.confThreshold, 30);

      if (process.env.RECON_SHOW_SAMPLES) {
        console.log(text.split('\n').filter((l) => /^(# (HELP|TYPE) )?(recon_|process_cpu_user)/.test(l) && !/_bucket\{/.test(l)).join('\n'));
        console.log(JSON.stringify(summary, null, 2));
      }

      // Queue depth: one engine slot in this process, so a second run waits while the first works.
      const slow = await run(1, { stepMs: 400, steps: 5 });
      await waitForStatus(server, slow, ['processing']).then(async () => {
        for (let i = 0; i < 100 && (await server.json(`/api/runs/${slow}`)).body.stage === 'waiting'; i++) await new Promise((r) => setTimeout(r, 20));
      });
      const waiting = await run(1, {});
      const depth = await scrapeUntil((t) => sample(t, 'recon_queue_depth{engine="test"}') === 1);
      assert.equal(sample(depth, 'recon_queue_depth{engine="test"}'), 1);
      assert.equal(sample(depth, 'recon_runs_in_progress{engine="test"}'), 1, 'the slow run is held by the worker, the other waits');
      await server.fetch(`/api/runs/${slow}/cancel`, { method: 'POST' });
      await server.fetch(`/api/runs/${waiting}/cancel`, { method: 'POST' });
    });
  });
}
