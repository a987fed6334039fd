// The run page of a splat pipeline run in Chromium: the stages with live status and the training
// preview while it trains, then the splats in Spark — formats switched, a camera flown to.
// Screenshots land in test-output/web/ (look at them).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { renderSyntheticScene } from '../fixtures/synthetic-scene.ts';
import { multipart } from '../helpers/images.ts';
import { jsonBody, startTestServer } from '../helpers/recon.ts';
import { collectErrors, countForeground, imageLoaded, launchBrowser, SCREENSHOTS, textOf } from './browser.ts';

const SPLAT_BACKGROUND = '#000000';

test('run page of a splat run: live stages and training preview, then the splats in Spark', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recon-splat-page-'));
  const images = (await renderSyntheticScene(join(dir, 'images'), { views: 8, width: 320, height: 240 })).images;
  const server = await startTestServer('pglite', { RECON_WORKER_COST_PER_HOUR: '1.5' });
  const browser = await launchBrowser();
  try {
    const settings = {
      sfm: { maxImageSize: 320 },
      scene: { maxImageSize: 320 },
      train: { preset: 'quick', iterations: 300, width: 128, previewEvery: 40, previewWidth: 128, checkpointEvery: 100 },
      compress: { sogShBands: 0, viewer: false },
      evaluate: { maxTrainViews: 3 },
    };
    const created = await server.json('/api/runs', jsonBody({ engine: 'splat', settings }));
    const runId = created.body.runId as string;
    const files = await Promise.all(images.map(async (path) => ({ name: basename(path), data: await readFile(path) })));
    await server.json(`/api/runs/${runId}/images`, { method: 'POST', body: multipart(files) });
    await server.fetch(`/api/runs/${runId}/process`, { method: 'POST' });

    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    const errors = collectErrors(page);
    await page.goto(`${server.url}/runs/${runId}`);
    const stages = page.locator('ol.stages > li');
    await stages.first().waitFor();
    assert.deepEqual(await stages.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-stage'))), ['sfm', 'scene', 'train', 'compress', 'evaluate']);

    // While it trains: the train stage runs, with its numbers and a preview render that updates.
    await page.locator('li[data-stage=train][data-status=running] .stage-info').filter({ hasText: /iteration \d+\/300/ }).waitFor({ timeout: 300_000 });
    await imageLoaded(page, '.train-preview img');
    assert.equal(await page.locator('li[data-stage=sfm]').getAttribute('data-status'), 'completed');
    assert.match(await textOf(page.locator('li[data-stage=sfm] .stage-info')), /worker \S+ · [\d.]+ (s|min)/);
    await page.locator('.live').screenshot({ path: join(SCREENSHOTS, 'splat-page-training.png') });

    // Done: every stage completed, and the splats drawn by Spark.
    const canvasHost = page.locator('.splat-canvas[data-state=ready]');
    await canvasHost.waitFor({ timeout: 300_000 });
    assert.deepEqual(await stages.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status'))), ['completed', 'completed', 'completed', 'completed', 'completed']);
    assert.match(await textOf(page.locator('li[data-stage=train] .stage-info')), /cost 0\.\d{4}/, 'the stage shows its cost at the worker rate');
    await page.waitForTimeout(1500);
    const canvas = page.locator('.splat-canvas canvas');
    const overview = await countForeground(await canvas.screenshot(), SPLAT_BACKGROUND);
    assert.ok(overview.foreground > overview.total * 0.05, `the splats drew ${overview.foreground} of ${overview.total} pixels`);
    await page.screenshot({ path: join(SCREENSHOTS, 'splat-page.png'), fullPage: true });

    const rows = await page.locator('table.metrics tbody tr').count();
    assert.equal(rows, 4, 'quality of the PLY and of each compressed format');
    await page.locator('input[name=splat-format][value=sog]').check();
    await page.locator('.splat-canvas[data-format=sog][data-state=ready]').waitFor({ timeout: 60_000 });
    assert.match(await textOf(page.locator('.viewer-status').first()), /^SOG: [\d,]+ splats/);
    await page.locator('.camera-button').nth(3).click();
    await page.waitForTimeout(2500);
    const fromCamera = await countForeground(await canvas.screenshot(), SPLAT_BACKGROUND);
    assert.ok(fromCamera.foreground > fromCamera.total * 0.3, `from camera 4 the SOG splats fill the view: ${fromCamera.foreground} of ${fromCamera.total}`);
    await page.locator('.viewer').screenshot({ path: join(SCREENSHOTS, 'splat-page-sog-camera-4.png') });

    await page.locator('.rerun > summary').click();
    assert.deepEqual(await page.locator('#rerun-from-stage option').evaluateAll((o) => o.map((x) => x.getAttribute('value'))), ['', 'scene', 'train', 'compress', 'evaluate']);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
