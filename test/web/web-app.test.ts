import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { makeImage, multipart } from '../helpers/images.ts';
import { jsonBody, startTestServer, type TestServer } from '../helpers/recon.ts';
import { waitForStatus } from '../helpers/runs.ts';
import { collectErrors, countForeground, imageLoaded, launchBrowser, overflowsSideways, SCREENSHOTS, textOf, unlabelledControls } from './browser.ts';

// web/src/viewer.ts VIEWER_BACKGROUND (not imported: that module pulls in three.js).
const VIEWER_BACKGROUND = '#10171f';
const RUN_URL = /\/runs\/(run_\d+_[a-z0-9]+)$/;

describe('web app (Chromium)', () => {
  let server: TestServer;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let firstRunId: string;

  before(async () => {
    [server, browser] = await Promise.all([startTestServer('pglite'), launchBrowser()]);
    context = browser.context;
    page = context.pages()[0] ?? (await context.newPage());
    errors = collectErrors(page);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const shot = (name: string, full = true) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: full });

  test('serves the app at / and client routes, but keeps problem+json for unknown API paths', async () => {
    const index = await server.fetch('/runs/run_1700000000000_abcdef');
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await index.text(), /<div|<main/);
    const api = await server.fetch('/api/nothing-here');
    assert.equal(api.status, 404);
    assert.match(api.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal((await server.fetch('/assets/missing-file.js')).status, 404);
  });

  test('new run: drop photos, reject a non-image, pick the test engine, set settings, upload', async () => {
    await page.goto(server.url);
    await page.getByRole('radio', { name: /Test engine/ }).waitFor();
    const files = await Promise.all([0, 1, 2, 3].map(async (i) => ({ name: `view-${i}.jpg`, mimeType: 'image/jpeg', buffer: await makeImage(i, 'jpeg', 96) })));
    // Named like a photo, but its bytes say otherwise: refused before any upload.
    files.push({ name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('these are not pixels\n') });
    await page.setInputFiles('#images', files);
    await page.locator('.thumb').nth(3).waitFor();
    assert.equal(await page.locator('.thumb').count(), 4);
    assert.match(await textOf(page.locator('.summary')), /4 photos\s*·\s*[\d.]+ KB/);
    const warning = await textOf(page.locator('.notice-warn'));
    assert.match(warning, /notes\.jpg — not a JPEG, PNG, WebP or HEIC image/);

    await page.getByRole('radio', { name: /Test engine/ }).check();
    // The settings form comes from the engine's JSON schema, with its defaults.
    assert.equal(await page.locator('input[name=steps]').inputValue(), '4');
    assert.equal(await page.locator('select[name=failWith]').inputValue(), 'none');
    assert.equal(await page.locator('input[name=showCameras]').isChecked(), true);
    assert.match(await textOf(page.locator('.settings-grid')), /Progress steps to report/);
    await page.fill('input[name=steps]', '10');
    await page.fill('input[name=stepMs]', '350');
    assert.deepEqual(await unlabelledControls(page), []);
    await shot('01-new-run');

    await page.getByRole('button', { name: 'Start reconstruction' }).click();
    await page.waitForURL(RUN_URL);
    firstRunId = RUN_URL.exec(page.url())![1]!;
  });

  test('live run page: stage timeline and progress from the event stream, then the scene', async () => {
    await page.locator('.stage-active .stage-name', { hasText: 'Inference' }).waitFor({ timeout: 20_000 });
    await page.waitForFunction("Number(document.querySelector('.live progress')?.value) > 0.2");
    assert.match(await textOf(page.locator('.progress-label')), /Inference · \d+%/);
    assert.match(await textOf(page.locator('.log')), /step \d+ of 10 over 4 images/);
    await shot('02-live-progress');

    await page.locator('.run-actions .pill-completed').waitFor({ timeout: 30_000 });
    const timeline = await textOf(page.locator('.timeline'));
    for (const stage of ['Waiting for a worker', 'Inference', 'Exporting', 'Completed']) assert.match(timeline, new RegExp(stage));
    await page.locator('.viewer-canvas[data-state=ready]').waitFor({ timeout: 30_000 });
    assert.ok(Number(await page.locator('.viewer-canvas').getAttribute('data-points')) > 0);

    const canvas = page.locator('.viewer-canvas canvas');
    const { foreground, total } = await countForeground(await canvas.screenshot(), VIEWER_BACKGROUND);
    assert.ok(foreground > 500, `the scene drew ${foreground} of ${total} pixels`);

    // Downloads for every artifact the run produced.
    const run = (await server.json(`/api/runs/${firstRunId}`)).body;
    for (const [type, url] of Object.entries(run.artifacts as Record<string, string>)) {
      assert.equal(await page.locator(`a[data-artifact=${type}]`).getAttribute('href'), url);
    }
  });

  test('viewer: point size, camera list → fly to the camera and show its photo', async () => {
    await page.fill('#point-size', '4');
    assert.match(await textOf(page.locator('output[for=point-size]')), /4 px/);
    assert.equal(await page.locator('.camera-button').count(), 4);
    await page.locator('.camera-button').nth(2).click();
    assert.equal(await page.locator('.camera-button').nth(2).getAttribute('aria-pressed'), 'true');
    const photo = page.locator('.camera-photo img');
    await photo.waitFor();
    await imageLoaded(page, '.camera-photo img');
    assert.match(await textOf(page.locator('.camera-photo figcaption')), /Camera 3 · view-2\.jpg/);
    await page.waitForTimeout(1200); // the flight
    const { foreground } = await countForeground(await page.locator('.viewer-canvas canvas').screenshot(), VIEWER_BACKGROUND);
    assert.ok(foreground > 100, `from camera 3 the scene drew ${foreground} pixels`);
    await page.locator('.viewer').scrollIntoViewIfNeeded();
    await shot('03-viewer-test-scene');
    // Keyboard: the scene takes focus and zooms with + / -.
    await page.locator('.viewer-canvas canvas').focus();
    await page.keyboard.press('+');
    await page.keyboard.press('0');
  });

  test('rerun with changed settings starts a linked run', async () => {
    await page.locator('.rerun > summary').click();
    await page.locator('.rerun input[name=steps]').fill('2');
    await page.getByRole('button', { name: 'Run again with these settings' }).click();
    await page.waitForURL((url) => RUN_URL.test(url.pathname) && !url.pathname.endsWith(firstRunId));
    await page.locator('.run-actions .pill-completed').waitFor({ timeout: 30_000 });
    assert.match(await textOf(page.locator('.run-meta')), new RegExp(`rerun of ${firstRunId}`));
    const child = (await server.json(`/api/runs/${RUN_URL.exec(page.url())![1]}`)).body;
    assert.equal(child.settings.steps, 2);
    assert.equal(child.settings.stepMs, 350);
  });

  test('a failed run shows its error and what to do', async () => {
    const { body: run } = await server.json('/api/runs', jsonBody({ engine: 'test', settings: { failWith: 'permanent', steps: 2, stepMs: 1 } }));
    await server.fetch(`/api/runs/${run.runId}/images`, { method: 'POST', body: multipart([{ name: 'a.png', data: await makeImage(1, 'png') }]) });
    await server.fetch(`/api/runs/${run.runId}/process`, { method: 'POST' });
    await waitForStatus(server, run.runId, ['failed']);
    await page.goto(`${server.url}/runs/${run.runId}`);
    const notice = page.locator('.notice-error');
    await notice.waitFor();
    const text = await textOf(notice);
    assert.match(text, /simulated permanent failure at step 1/);
    assert.match(text, /What to do: This is the test engine doing what its failWith setting asked/);
    await page.locator('.stage-end.stage-failed').waitFor();
    await shot('04-failed-run');
  });

  test('history: filters and paging; analytics', async () => {
    // Enough runs for two pages of ten.
    for (let i = 0; i < 9; i++) await server.json('/api/runs', jsonBody({ engine: 'test' }));
    await page.goto(`${server.url}/runs?size=10`);
    await page.locator('table.runs tbody tr').first().waitFor();
    assert.equal(await page.locator('table.runs tbody tr').count(), 10);
    assert.match(await textOf(page.locator('.pager')), /1–10 of 12/);
    await shot('05-history');
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.waitForURL(/page=2/);
    await page.locator('.pager', { hasText: '11–12 of 12' }).waitFor();
    assert.equal(await page.locator('table.runs tbody tr').count(), 2);

    await page.selectOption('#filter-status', 'failed');
    await page.waitForURL(/status=failed/);
    await page.locator('.pager', { hasText: '1–1 of 1' }).waitFor();
    assert.equal(await page.locator('table.runs .pill-failed').count(), 1);
    await page.selectOption('#filter-status', 'canceled');
    await page.locator('.empty', { hasText: 'No runs match these filters.' }).waitFor();

    await page.getByRole('link', { name: 'Analytics' }).click();
    await page.locator('.stat-value').first().waitFor();
    assert.equal(await textOf(page.locator('.stat-value').first()), '12');
    assert.match(await textOf(page.locator('.charts')), /completed\s+2/i);
    await shot('06-analytics');
  });

  test('phone width: no sideways scrolling, viewer still works', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of ['/', '/runs', '/analytics', `/runs/${firstRunId}`]) {
      await page.goto(`${server.url}${path}`);
      await page.locator('main h1').first().waitFor();
      if (path.includes(firstRunId)) await page.locator('.viewer-canvas[data-state=ready]').waitFor({ timeout: 30_000 });
      assert.equal(await overflowsSideways(page), false, `${path} scrolls sideways at 390 px`);
    }
    await shot('07-phone-run');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  test('no console errors on any page', () => {
    assert.deepEqual(errors, []);
  });
});
