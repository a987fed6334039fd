import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { newApiKey } from '../../src/auth/api-key.ts';
import { makeImage } from '../helpers/images.ts';
import { startTestServer, type TestServer } from '../helpers/recon.ts';
import { collectErrors, countForeground, imageLoaded, launchBrowser, overflowsSideways, SCREENSHOTS, textOf, unlabelledControls } from './browser.ts';

const VIEWER_BACKGROUND = '#10171f';
const RUN_URL = /\/runs\/(run_\d+_[a-z0-9]+)$/;
// An admin key given by the environment: with it the server requires keys on every API call.
const KEY = newApiKey().key;
// Chromium logs every refused request; those 401s are the point of the first steps.
const EXPECTED_401 = /status of 401 \(Unauthorized\)/;

describe('web app with API keys (Chromium)', () => {
  let server: TestServer;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let runId: string;
  let refusedBeforeKey = 0;
  const refused = () => errors.filter((e) => EXPECTED_401.test(e)).length;

  before(async () => {
    [server, browser] = await Promise.all([startTestServer('pglite', { RECON_API_KEYS: KEY }), launchBrowser()]);
    context = browser.context;
    page = context.pages()[0] ?? (await context.newPage());
    errors = collectErrors(page);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const shot = (name: string, full = true) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: full });
  const banner = () => page.locator('.key-banner');

  test('the server refuses calls without a key', async () => {
    const response = await server.fetch('/api/engines');
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
  });

  test('a 401 shows the key prompt, explaining how to get a key', async () => {
    await page.goto(server.url);
    await banner().waitFor();
    const text = await textOf(banner());
    assert.match(text, /This server needs an API key/);
    assert.match(text, /recon keys create/);
    assert.equal(await banner().getByLabel('API key').getAttribute('type'), 'password');
    // The page's own error says what to do too.
    assert.match(await textOf(page.locator('.engine-list')), /needs an API key/);
    assert.match(await textOf(page.locator('.key-button')), /not set/);
    assert.deepEqual(await unlabelledControls(page), []);
    await shot('key-01-prompt', false);
  });

  test('a wrong key is refused in place and not saved', async () => {
    const input = banner().getByLabel('API key');
    await input.fill(`recon_kwrongwrongwr_${'x'.repeat(43)}`);
    await input.press('Enter');
    await banner().locator('.field-error', { hasText: 'does not accept this key' }).waitFor();
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate("localStorage.getItem('recon.apiKey')"), null);
    // Show/Hide reveals what was typed.
    await banner().getByRole('button', { name: 'Show' }).click();
    assert.equal(await input.getAttribute('type'), 'text');
    await banner().getByRole('button', { name: 'Hide' }).click();
    assert.equal(await input.getAttribute('type'), 'password');
  });

  test('saving the key retries the page, which then works', async () => {
    const input = banner().getByLabel('API key');
    await input.fill(KEY);
    await banner().getByRole('button', { name: 'Save key' }).click();
    await page.getByRole('radio', { name: /Test engine/ }).waitFor();
    assert.equal(await banner().isHidden(), true);
    assert.match(await textOf(page.locator('.key-button')), /saved/);
    assert.equal(await page.evaluate("localStorage.getItem('recon.apiKey')"), KEY);
    refusedBeforeKey = refused();
  });

  test('a run made through the page: upload, live progress over SSE with the key, the scene', async () => {
    const files = await Promise.all([0, 1, 2, 3].map(async (i) => ({ name: `view-${i}.jpg`, mimeType: 'image/jpeg', buffer: await makeImage(i, 'jpeg', 96) })));
    await page.setInputFiles('#images', files);
    await page.locator('.thumb').nth(3).waitFor();
    await page.getByRole('radio', { name: /Test engine/ }).check();
    await page.fill('input[name=steps]', '8');
    await page.fill('input[name=stepMs]', '300');
    await page.getByRole('button', { name: 'Start reconstruction' }).click();
    await page.waitForURL(RUN_URL);
    runId = RUN_URL.exec(page.url())![1]!;

    // Progress and log lines arrive only through the event stream (?api_key=).
    await page.locator('.stage-active .stage-name', { hasText: 'Inference' }).waitFor({ timeout: 20_000 });
    await page.waitForFunction("Number(document.querySelector('.live progress')?.value) > 0.2");
    await page.locator('.log', { hasText: /step \d+ of 8 over 4 images/ }).waitFor();
    await page.locator('.run-actions .pill-completed').waitFor({ timeout: 30_000 });
    assert.match(await textOf(page.locator('.timeline')), /Completed/);

    // The GLB is fetched with the key.
    await page.locator('.viewer-canvas[data-state=ready]').waitFor({ timeout: 30_000 });
    const { foreground, total } = await countForeground(await page.locator('.viewer-canvas canvas').screenshot(), VIEWER_BACKGROUND);
    assert.ok(foreground > 500, `the scene drew ${foreground} of ${total} pixels`);
  });

  test('photos and downloads carry the key', async () => {
    await page.locator('.camera-button').nth(1).click();
    await imageLoaded(page, '.camera-photo img');
    assert.match((await page.locator('.camera-photo img').getAttribute('src')) ?? '', /^blob:/);
    assert.match(await textOf(page.locator('.camera-photo figcaption')), /Camera 2 · view-1\.jpg/);
    await page.waitForTimeout(1200); // the flight to the camera
    await page.locator('.viewer').scrollIntoViewIfNeeded();
    await shot('key-02-run-with-key', false);

    const link = page.locator('a[data-artifact=glb]');
    assert.equal(await link.getAttribute('href'), `/api/runs/${runId}/artifacts/glb`);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    assert.match(download.suggestedFilename(), /\.glb$/);
    const bytes = await readFile((await download.path())!);
    assert.equal(bytes.subarray(0, 4).toString('latin1'), 'glTF');
    // With the key saved nothing was refused: API calls, the stream, the GLB, the photo, the download.
    assert.equal(refused(), refusedBeforeKey);
  });

  test('the header button opens a labelled dialog (keyboard), and Forget brings the prompt back', async () => {
    await page.locator('.key-button').focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'API key' });
    await dialog.waitFor();
    assert.match(await textOf(dialog), new RegExp(`ending in ${KEY.slice(-4)}`));
    assert.equal(await page.evaluate('document.activeElement?.getAttribute("type")'), 'password');
    await shot('key-03-dialog', false);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });

    await page.locator('.key-button').click();
    await dialog.getByRole('button', { name: 'Forget key' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await banner().waitFor();
    assert.match(await textOf(page.locator('.key-button')), /not set/);
    assert.match(await textOf(page.locator('main')), /needs an API key/);
    await page.setViewportSize({ width: 390, height: 844 });
    assert.equal(await overflowsSideways(page), false, 'the prompt scrolls sideways at 390 px');
    await shot('key-04-phone-prompt', false);
    await page.setViewportSize({ width: 1280, height: 860 });

    // Saved from the dialog this time; the run page comes back, and a reload keeps the key.
    await page.locator('.key-button').click();
    await dialog.getByLabel('API key').fill(KEY);
    await dialog.getByLabel('API key').press('Enter');
    await page.locator('.run-actions .pill-completed').waitFor();
    await page.reload();
    await page.locator('.viewer-canvas[data-state=ready]').waitFor({ timeout: 30_000 });
    assert.equal(await banner().isHidden(), true);
  });

  test('no console errors besides the expected 401s', () => {
    assert.deepEqual(
      errors.filter((e) => !EXPECTED_401.test(e)),
      [],
    );
    assert.ok(errors.some((e) => EXPECTED_401.test(e)), 'the first page load was refused');
  });
});
