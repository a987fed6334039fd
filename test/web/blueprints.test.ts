import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { type BlueprintTestServer, startBlueprintServer } from '../blueprints/blueprint-server.ts';
import { productPhoto } from '../fixtures/products.ts';
import { checkDataset, readZip } from '../helpers/dataset-checks.ts';
import { tempPaths } from '../helpers/temp-paths.ts';
import { collectErrors, launchBrowser, overflowsSideways, SCREENSHOTS, textOf, unlabelledControls } from './browser.ts';

const temp = tempPaths('recon-web-blueprints-');
const BLUEPRINT_URL = /\/blueprints\/(bp_\d+_[a-z0-9]+)$/;

describe('blueprints in the web app (Chromium)', () => {
  let t: BlueprintTestServer;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  let errors: string[];
  let id: string;

  before(async () => {
    [t, browser] = await Promise.all([startBlueprintServer('pglite'), launchBrowser()]);
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    errors = collectErrors(page);
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  const shot = (name: string, full = true) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: full });
  const view = async () => (await t.server.json(`/api/blueprints/${id}`)).body;

  test('create from a template, add photos and a custom defect, draw a region', async () => {
    await page.goto(`${t.server.url}/blueprints`);
    await page.getByLabel('Defect template').selectOption({ label: 'Glass bottle (4 defects)' });
    await page.getByLabel('Name').fill('Bottle line 2');
    await page.getByRole('button', { name: 'Create blueprint' }).click();
    await page.waitForURL(BLUEPRINT_URL);
    id = BLUEPRINT_URL.exec(page.url())![1]!;

    await page.setInputFiles('#bp-photos', [
      { name: 'front.png', mimeType: 'image/png', buffer: await productPhoto('bottle', 128) },
      { name: 'side.png', mimeType: 'image/png', buffer: await productPhoto('disc', 128) },
    ]);
    await page.locator('.photo-list .thumb').nth(1).waitFor();
    await page.getByLabel('New defect').fill('label tear');
    await page.getByLabel('Description').fill('a ripped corner of the paper label');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('.defect-chip', { hasText: 'label tear' }).waitFor();
    assert.equal(await page.locator('.defect-chip').count(), 5);
    assert.match(await textOf(page.locator('.defect-chip').first()), /chip[\s\S]*glass-bottle@1/i);

    // Draw a box on the first photo for "crack".
    await page.getByLabel('Photo', { exact: true }).selectOption({ label: 'front' });
    await page.locator('#bp-region-defect').selectOption({ label: 'crack' });
    const canvas = page.locator('.region-canvas');
    await page.waitForFunction(`(document.querySelector('.region-photo img')?.naturalWidth ?? 0) > 0`);
    await canvas.scrollIntoViewIfNeeded();
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.42, box.y + box.height * 0.3);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.45, { steps: 5 });
    await page.mouse.up();
    await page.getByRole('button', { name: 'Save region' }).click();
    await page.locator('.region-list', { hasText: 'box' }).waitFor();
    const regions = (await view()).regions;
    assert.equal(regions.length, 1);
    const [x, y, w, h] = regions[0].bbox;
    assert.ok(Math.abs(x - 0.42 * 128) <= 2 && Math.abs(y - 0.3 * 128) <= 2 && Math.abs(w - 0.13 * 128) <= 3 && Math.abs(h - 0.15 * 128) <= 3, `${regions[0].bbox}`);
    assert.deepEqual(await unlabelledControls(page), []);
    await shot('blueprint-01-design');
  });

  test('generate the matrix with live cells, then review: rate, refine a prompt, regenerate', async () => {
    t.fal.faults.processMs = 900;
    await page.getByRole('button', { name: 'Generate matrix' }).click();
    await page.locator('.chip-active').first().waitFor();
    await page.locator('[aria-labelledby=bp-matrix-heading]').screenshot({ path: join(SCREENSHOTS, 'blueprint-02-generating.png') });
    t.fal.faults.processMs = 30;
    await page.locator('.matrix-summary', { hasText: '10 of 10 done' }).waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('.cell-thumb').count(), 10);
    await page.locator('.review-card').nth(9).waitFor();

    const cards = page.locator('.review-card');
    for (let i = 2; i < 10; i++) await cards.nth(i).getByRole('button', { name: '✓ Approve' }).click();
    await cards.nth(1).locator('.feedback').fill('looks painted on');
    await cards.nth(1).getByRole('button', { name: '✗ Reject' }).click();
    await cards.nth(0).locator('.feedback').fill('too big; make it finer');
    await cards.nth(0).getByRole('button', { name: '↻ Refine' }).click();
    await page.waitForFunction(`document.querySelectorAll('.rate[aria-pressed=true]').length === 10`);
    const rated = (await view()).generations;
    assert.equal(rated.filter((g: any) => g.rating === 'approved').length, 8);
    assert.equal(rated.find((g: any) => g.rating === 'needs_refinement').feedback, 'too big; make it finer');

    const refine = page.locator('.review-card.rating-needs_refinement');
    await refine.getByRole('button', { name: 'Edit prompt' }).click();
    await refine.locator('.prompt-editor').fill('A barely visible hairline defect, small and subtle.');
    await refine.getByRole('button', { name: 'Save and regenerate' }).click();
    await page.locator('.matrix-summary', { hasText: '11 of 11 done' }).waitFor({ timeout: 60_000 });
    const after = await view();
    const edited = after.prompts.find((p: any) => p.strategy === 'manual_edit');
    assert.equal(edited.text, 'A barely visible hairline defect, small and subtle.');
    assert.equal(after.generations.at(-1).promptId, edited.id);
    // The new card shows the lineage: seed → edited.
    const newest = page.locator(`#review-${after.generations.at(-1).id}`);
    await newest.locator('summary').click();
    assert.match(await textOf(newest.locator('.lineage-list')), /seed[\s\S]*edited/i);
    await newest.getByRole('checkbox', { name: 'Show label' }).check();
    await newest.getByRole('button', { name: '✓ Approve' }).click();
    await shot('blueprint-03-review');
  });

  test('export and download the dataset; phone width; no console errors', async () => {
    await page.getByRole('button', { name: 'Export dataset' }).click();
    await page.locator('.export-list li').waitFor();
    assert.match(await textOf(page.locator('.export-list li')), /train \/ \d+ val images · 9 labels · 5 classes/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '↓ Download ZIP' }).click()]);
    const path = temp('dataset.zip');
    await download.saveAs(path);
    const { manifest } = await checkDataset(await readZip(path));
    assert.equal(manifest.images.filter((i: any) => i.kind === 'generated').length, 9);
    await page.locator('[aria-labelledby=bp-export-heading]').screenshot({ path: join(SCREENSHOTS, 'blueprint-04-export.png') });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.locator('.matrix').waitFor();
    assert.equal(await overflowsSideways(page), false);
    await shot('blueprint-05-phone', false);
    await page.setViewportSize({ width: 1280, height: 860 });
    assert.deepEqual(errors, []);
  });
});
