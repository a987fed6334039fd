import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createOpenSplatEngine, openSplatSettings } from '../../src/engines/opensplat/index.ts';
import { createSplatfactoEngine, splatfactoSettings } from '../../src/engines/splatfacto/index.ts';
import { readSplatPly } from '../../src/formats/splat-ply.ts';
import { installStandIns } from '../fixtures/gpu-trainers/install.ts';
import { createFakeContext } from '../fixtures/synthetic/fake-context.ts';
import { renderSyntheticScene } from '../fixtures/synthetic-scene.ts';
import { multipart } from '../helpers/images.ts';
import { jsonBody, startTestServer, type TestServer } from '../helpers/recon.ts';
import { waitForStatus } from '../helpers/runs.ts';

/** Processes whose command line mentions `marker` (the stand-ins' script names). */
async function processesRunning(marker: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (cmdline.includes(marker) && !/\) Z /.test(stat)) count++;
  }
  return count;
}

describe('GPU trainers (OpenSplat, splatfacto) as the train stage, through stand-ins that speak their CLIs', () => {
  let server: TestServer;
  let dir: string;
  let colmapRun: string;
  let sceneZip: string;
  const path = process.env.PATH;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'recon-gpu-'));
    await installStandIns(join(dir, 'bin'));
    process.env.PATH = `${join(dir, 'bin')}:${path}`;
    const images = (await renderSyntheticScene(join(dir, 'images'), { views: 8, width: 320, height: 240 })).images;
    server = await startTestServer('pglite');
    const created = await server.json('/api/runs', jsonBody({ engine: 'colmap', settings: { maxImageSize: 320 } }));
    colmapRun = created.body.runId;
    const files = await Promise.all(images.map(async (p) => ({ name: basename(p), data: await readFile(p) })));
    await server.json(`/api/runs/${colmapRun}/images`, { method: 'POST', body: multipart(files) });
    await server.fetch(`/api/runs/${colmapRun}/process`, { method: 'POST' });
    const done = await waitForStatus(server, colmapRun, ['completed', 'failed'], 300_000);
    assert.equal(done.status, 'completed', done.error);
  });
  after(async () => {
    process.env.PATH = path;
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('check() says which trainers this machine has, and how to install the others', async () => {
    const { body } = await server.json('/api/engines');
    assert.equal(body.engines.find((e: { id: string }) => e.id === 'opensplat').available, true);
    assert.equal(body.engines.find((e: { id: string }) => e.id === 'splatfacto').available, true);
    const missing = await createOpenSplatEngine({ binary: join(dir, 'no-such-opensplat') }).check();
    assert.equal(missing.ok, false);
    assert.match(missing.reason!, /OpenSplat is not installed: Build OpenSplat/);
    const noExport = await createSplatfactoEngine({ export: 'no-such-ns-export' }).check();
    assert.match(noExport.reason!, /no-such-ns-export not found/);
  });

  for (const engine of ['opensplat', 'splatfacto'] as const) {
    test(`${engine}: a pipeline run from the COLMAP run trains, exports a real PLY in the cameras' frame, then compresses and scores it`, async () => {
      const created = await server.json(
        '/api/runs',
        jsonBody({ engine: 'splat', fromRun: colmapRun, settings: { scene: { maxImageSize: 320 }, train: { engine, iterations: 60, checkpointEvery: 20 }, compress: { viewer: false, sogShBands: 0 }, evaluate: { maxTrainViews: 2 } } }),
      );
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const run = await waitForStatus(server, created.body.runId, ['completed', 'failed'], 300_000);
      assert.equal(run.status, 'completed', run.error);
      const train = run.stages[2];
      assert.equal(train.engine, engine);
      assert.deepEqual(train.summary.heldOutViews, ['view_00.jpg']);
      assert.ok(train.details.iteration >= 50, `progress parsed: ${JSON.stringify(train.details)}`);
      const ply = join(dir, `${engine}.ply`);
      await writeFile(ply, Buffer.from(await (await server.fetch(run.artifacts['splat-ply'])).arrayBuffer()));
      const splats = await readSplatPly(ply);
      assert.equal(splats.count, train.summary.gaussians);
      const points = (await server.json(`/api/runs/${colmapRun}/predictions/metadata`)).body.totalPoints;
      assert.equal(splats.count, points, 'one Gaussian per COLMAP point');
      const log = await (await server.fetch(`/api/runs/${run.runId}/stream`)).text();
      assert.match(log, /checkpoint saved at iteration (20|40|60)\b/);
      assert.ok(run.stages[4].summary.formats.spz.testPsnr > 0, 'evaluated like any splats');
      sceneZip ??= join(dir, 'scene.zip');
      await writeFile(sceneZip, Buffer.from(await (await server.fetch(run.artifacts['splat-scene'])).arrayBuffer()));
    });
  }

  test('a trainer that fails says why; one canceled mid-run leaves no process behind', async () => {
    const failing = await server.json('/api/runs', jsonBody({ engine: 'splat', fromRun: colmapRun, settings: { train: { engine: 'opensplat', iterations: 40 } } }));
    process.env.STAND_IN_FAIL = 'cuda';
    const failed = await waitForStatus(server, failing.body.runId, ['completed', 'failed'], 300_000).finally(() => delete process.env.STAND_IN_FAIL);
    assert.equal(failed.status, 'failed');
    assert.match(failed.error, /^Stage "train" failed: OpenSplat exited with code 1: CUDA error: out of memory/);
    assert.match(failed.errorHint, /GPU ran out of memory/);

    process.env.STAND_IN_STEP_MS = '40';
    try {
      const slow = await server.json('/api/runs', jsonBody({ engine: 'splat', fromRun: colmapRun, settings: { train: { engine: 'splatfacto', iterations: 100_000 } } }));
      for (let i = 0; i < 600; i++) {
        const view = (await server.json(`/api/runs/${slow.body.runId}`)).body;
        if ((view.stages[2].details?.iteration ?? 0) >= 20) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok((await processesRunning('ns-train.ts')) > 0, 'ns-train runs');
      assert.equal((await server.json(`/api/runs/${slow.body.runId}/cancel`, { method: 'POST' })).status, 200);
      for (let i = 0; i < 100 && (await processesRunning('ns-train.ts')); i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await processesRunning('ns-train.ts'), 0, 'the whole process group was stopped');
    } finally {
      delete process.env.STAND_IN_STEP_MS;
    }
  });

  for (const [engine, create, settings] of [
    ['opensplat', () => createOpenSplatEngine(), openSplatSettings],
    ['splatfacto', () => createSplatfactoEngine(), splatfactoSettings],
  ] as const) {
    test(`${engine}: stopped after a checkpoint, the next attempt resumes from it`, async () => {
      const root = await mkdtemp(join(tmpdir(), `recon-${engine}-resume-`));
      const parsed = settings.parse({ iterations: 200, checkpointEvery: 50 });
      process.env.STAND_IN_STEP_MS = '15';
      try {
        const first = await createFakeContext([], parsed, { artifacts: { 'splat-scene': sceneZip }, root });
        first.ctx.progress = (_stage, _fraction, _message, details) => {
          if (Number(details?.iteration) >= 120) first.controller.abort(new Error('worker stopped'));
        };
        await assert.rejects(create().run(first.ctx as never));
        const second = await createFakeContext([], parsed, { artifacts: { 'splat-scene': sceneZip }, root });
        await create().run(second.ctx as never);
        const resumed = second.logs.find((l) => l.startsWith('resumed from checkpoint at iteration'));
        assert.match(resumed ?? '', /at iteration (100|50) of 200/, second.logs.join('\n'));
        assert.ok(second.artifacts.get('splat-ply'));
        assert.ok(Number(second.summaries.at(-1)?.resumedFromIteration) >= 50);
      } finally {
        delete process.env.STAND_IN_STEP_MS;
        await rm(root, { recursive: true, force: true });
      }
    });
  }
});
