// Screenshots of the viewer on a real COLMAP scene. Needs a data folder that holds a finished
// demo run, so it runs only when asked:
//   RECON_DATA_DIR=/tmp/webdemo node src/main.ts demo --exit
//   RECON_WEB_DEMO_DATA=/tmp/webdemo node --test test/web/demo-scene.test.ts
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTestServer } from '../helpers/recon.ts';
import { collectErrors, countForeground, imageLoaded, launchBrowser, SCREENSHOTS } from './browser.ts';

const dataDir = process.env.RECON_WEB_DEMO_DATA;
const VIEWER_BACKGROUND = '#10171f';

test('viewer on the demo scene (COLMAP, Herz-Jesu)', { skip: !dataDir && 'set RECON_WEB_DEMO_DATA to a data folder with a demo run' }, async () => {
  const server = await startTestServer('pglite', {}, { dataDir: dataDir! });
  const browser = await launchBrowser();
  try {
    const { body } = await server.json('/api/runs?status=completed&engine=colmap&limit=1');
    const run = body.runs[0];
    assert.ok(run, 'no completed COLMAP run in that data folder');
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    const errors = collectErrors(page);
    await page.goto(`${server.url}/runs/${run.runId}`);
    await page.locator('.viewer-canvas[data-state=ready]').waitFor({ timeout: 60_000 });
    await page.waitForTimeout(500);
    const canvas = page.locator('.viewer-canvas canvas');
    const overview = await countForeground(await canvas.screenshot(), VIEWER_BACKGROUND);
    assert.ok(overview.foreground > 2000, `the demo scene drew ${overview.foreground} pixels`);
    await page.screenshot({ path: join(SCREENSHOTS, 'demo-viewer.png'), fullPage: true });
    await canvas.screenshot({ path: join(SCREENSHOTS, 'demo-canvas.png') });

    await page.locator('.camera-button').nth(3).click();
    await imageLoaded(page, '.camera-photo img');
    await page.waitForTimeout(1300);
    await page.locator('.viewer').screenshot({ path: join(SCREENSHOTS, 'demo-viewer-camera-4.png') });
    const fromCamera = await countForeground(await canvas.screenshot(), VIEWER_BACKGROUND);
    assert.ok(fromCamera.foreground > 2000, `from camera 4 the demo scene drew ${fromCamera.foreground} pixels`);

    await page.goto(`${server.url}/runs`);
    await page.locator('table.runs tbody tr').first().waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'demo-history.png'), fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
