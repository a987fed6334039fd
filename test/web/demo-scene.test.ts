// Screenshots of the viewer on a real COLMAP scene: the bundled demo photos, reconstructed by the
// test itself — or a finished demo run in an existing data folder, to skip the reconstruction:
//   RECON_DATA_DIR=/tmp/webdemo node src/main.ts demo --exit
//   RECON_WEB_DEMO_DATA=/tmp/webdemo node --test test/web/demo-scene.test.ts
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { multipart } from '../helpers/images.ts';
import { jsonBody, startTestServer, type TestServer } from '../helpers/recon.ts';
import { waitForStatus } from '../helpers/runs.ts';
import { collectErrors, countForeground, imageLoaded, launchBrowser, SCREENSHOTS } from './browser.ts';

const dataDir = process.env.RECON_WEB_DEMO_DATA;
const VIEWER_BACKGROUND = '#10171f';

const PHOTOS = join(import.meta.dirname, '..', '..', 'demo', 'photos');

/** The data folder's finished COLMAP run, or a new one on the bundled demo photos. */
async function demoRun(server: TestServer): Promise<{ runId: string }> {
  const { body } = await server.json('/api/runs?status=completed&engine=colmap&limit=1');
  if (body.runs[0]) return body.runs[0];
  const created = await server.json('/api/runs', jsonBody({ engine: 'colmap', settings: { maxImageSize: 1024 } }));
  const names = (await readdir(PHOTOS)).filter((n) => n.endsWith('.jpg')).sort();
  const files = await Promise.all(names.map(async (name) => ({ name, data: await readFile(join(PHOTOS, name)) })));
  await server.fetch(`/api/runs/${created.body.runId}/images`, { method: 'POST', body: multipart(files) });
  await server.fetch(`/api/runs/${created.body.runId}/process`, { method: 'POST' });
  const run = await waitForStatus(server, created.body.runId, ['completed', 'failed'], 300_000);
  assert.equal(run.status, 'completed', run.error);
  return run;
}

test('viewer on the demo scene (COLMAP, Herz-Jesu)', async () => {
  const server = await startTestServer('pglite', {}, dataDir ? { dataDir } : {});
  const browser = await launchBrowser();
  try {
    const run = await demoRun(server);
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
