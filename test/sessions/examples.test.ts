import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { makeImage } from '../helpers/images.ts';
import { startTestServer, type TestServer } from '../helpers/recon.ts';
import { CHROMIUM, collectErrors } from '../web/browser.ts';

const validator = createRequire(import.meta.url)('gltf-validator') as {
  validateBytes(data: Uint8Array): Promise<{ issues: { numErrors: number; messages: unknown[] } }>;
};
const ROOT = join(import.meta.dirname, '..', '..');
const NODE = process.execPath;
const SCREENSHOTS = resolve(ROOT, 'test-output', 'examples');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function runClient(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(NODE, [join(ROOT, 'examples/ws-client.ts'), ...args], { timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function assertValidGlb(bytes: Uint8Array) {
  assert.equal(Buffer.from(bytes.subarray(0, 4)).toString(), 'glTF');
  const report = await validator.validateBytes(bytes);
  assert.equal(report.issues.numErrors, 0, JSON.stringify(report.issues.messages.slice(0, 3)));
}

let server: TestServer;
let dir: string;
before(async () => {
  server = await startTestServer('pglite');
  dir = await mkdtemp(join(tmpdir(), 'recon-ws-examples-'));
  for (const i of [0, 1, 2, 3, 4]) await writeFile(join(dir, `photo${i}.jpg`), await makeImage(i, 'jpeg', 64));
  await writeFile(join(dir, 'notes.txt'), 'not an image');
});
after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('examples/ws-client.ts (Node CLI, run as a child process)', () => {
  test('sends a folder incrementally, saves the deltas and the final GLB, deletes the session', async () => {
    const output = join(dir, 'out', 'scene.glb');
    await mkdir(join(dir, 'out'));
    const result = await runClient([dir, '--server', server.url, '--engine', 'test', '--incremental', '--batch', '2', '-o', output, '--save-deltas']);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout.trim());
    assert.equal(summary.images, 5, 'notes.txt skipped');
    assert.equal(summary.cameras, 5);
    assert.match(result.stderr, /delta 1: 2 images/);
    assert.match(result.stderr, /delta 2: 4 images/);
    assert.match(result.stderr, /inference/, 'progress shown');
    await assertValidGlb(new Uint8Array(await readFile(output)));
    assert.equal((await stat(`${output}.delta-1.glb`)).size > 0, true);
    assert.equal((await server.json(`/ws/session/${summary.sessionId}`)).status, 404, 'session deleted afterwards');
    assert.equal((await server.json(`/api/runs/${summary.runId}`)).body.status, 'completed');
  });

  test('sends single files without --incremental; reports server errors with exit code 1', async () => {
    const output = join(dir, 'single.glb');
    const ok = await runClient([join(dir, 'photo1.jpg'), join(dir, 'photo2.jpg'), '--server', server.url, '--engine', 'test', '-o', output, '-q', '--keep']);
    assert.equal(ok.code, 0, ok.stderr);
    const summary = JSON.parse(ok.stdout.trim());
    assert.equal(summary.images, 2);
    assert.equal((await server.json(`/ws/session/${summary.sessionId}`)).body.status, 'completed', '--keep keeps it');
    await assertValidGlb(new Uint8Array(await readFile(output)));

    const bad = await runClient([join(dir, 'photo1.jpg'), '--server', server.url, '--engine', 'nope']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /could not create a session: Engine "nope" is not available/);
    const notImage = await runClient([join(dir, 'notes.txt'), '--server', server.url, '--engine', 'test']);
    assert.equal(notImage.code, 1);
    assert.match(notImage.stderr, /error: "notes.txt" is not a JPEG, PNG, WebP or HEIC image/);
  });
});


describe('examples/ws-client.html (single-file page, in Chromium)', () => {
  const PHOTOS = 4;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    errors = collectErrors(page);
    await mkdir(SCREENSHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
  });

  // Page-side code is passed as strings: the tests are type-checked without the DOM library.
  const pageValue = <T>(expression: string) => page.evaluate(expression) as Promise<T>;
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  /** Clicks Reconstruct and waits for the page's own promise (it settles on success and on error alike). */
  async function reconstruct() {
    await page.click('#start');
    await page.waitForFunction('window.reconDone');
    await pageValue('window.reconDone.then(() => true)');
  }

  test('opened from disk: photos in, an incremental preview, progress bar to 100%, a download link to a valid GLB', async () => {
    // As the README says: open the file in a browser. Its origin is then "null", so the page
    // cannot default to it and the session routes must answer cross-origin (CORS) requests.
    await page.goto(pathToFileURL(join(ROOT, 'examples/ws-client.html')).href);
    assert.equal(await page.inputValue('#server'), 'http://localhost:3000', 'no http origin to default to');
    assert.equal(await page.isDisabled('#start'), true, 'nothing to send yet');
    await page.fill('#server', server.url);

    const photos = await Promise.all(
      Array.from({ length: PHOTOS }, async (_, i) => ({ name: `p${i}.jpg`, mimeType: 'image/jpeg', buffer: await makeImage(i, 'jpeg', 48) })),
    );
    await page.setInputFiles('#files', [...photos, { name: 'readme.txt', mimeType: 'text/plain', buffer: Buffer.from('not a photo') }]);
    await page.waitForFunction(`[...document.querySelectorAll('#thumbs img')].filter((img) => img.naturalWidth > 0).length === ${PHOTOS}`);
    assert.equal(await page.locator('#thumbs img').count(), PHOTOS, 'a thumbnail per photo, the text file left out');
    assert.equal(await page.textContent('#status'), `${PHOTOS} photo(s) ready.`);
    assert.equal(await page.isDisabled('#start'), false);

    await page.fill('#engine', 'test');
    await page.check('#incremental');
    assert.equal(await page.inputValue('#batch'), '2');
    // Every width the bar is given, in order.
    await pageValue(`{
      const fill = document.getElementById('fill');
      window.widths = [];
      new MutationObserver(() => window.widths.push(fill.style.width)).observe(fill, { attributeFilter: ['style'] });
    }`);
    await reconstruct();

    const status = (await page.textContent('#status')) ?? '';
    assert.match(status, new RegExp(`^Done: ${PHOTOS} cameras, \\d+ KiB$`), status);
    assert.equal(await page.getAttribute('#status', 'class'), '');
    const widths = await pageValue<string[]>('window.widths');
    assert.equal(widths.at(-1), '100%', widths.join(' '));
    assert.ok(widths.some((w) => w !== '0%' && w !== '100%'), `progress in between: ${widths.join(' ')}`);
    // The bar is drawn full once its CSS transition ends.
    await page.waitForFunction(`document.getElementById('fill').getBoundingClientRect().width === document.getElementById('bar').getBoundingClientRect().width`);

    const log = (await page.textContent('#log')) ?? '';
    assert.match(log, /session [0-9a-f-]{36} \(engine test\)/);
    assert.match(log, /preview: 2 images, 2 cameras/);
    const runId = /complete \(run (\S+)\)/.exec(log)?.[1];
    assert.ok(runId, log);
    assert.equal((await server.json(`/api/runs/${runId}`)).body.status, 'completed');

    // The incremental preview: a visible link to a GLB of the first two photos.
    assert.equal(await page.isVisible('#deltaLink'), true);
    assert.equal(await page.getAttribute('#deltaLink', 'download'), 'preview-2.glb');
    const preview = await pageValue<string>(`fetch(document.getElementById('deltaLink').href)
      .then((response) => response.arrayBuffer())
      .then((buffer) => { let s = ''; for (const b of new Uint8Array(buffer)) s += String.fromCharCode(b); return btoa(s); })`);
    const previewBytes = Buffer.from(preview, 'base64');
    await assertValidGlb(previewBytes);

    // The scene: clicking the link downloads scene.glb, as a user would.
    assert.equal(await page.isVisible('#download'), true);
    assert.match((await page.getAttribute('#download', 'href')) ?? '', /^blob:/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.equal(download.suggestedFilename(), 'scene.glb');
    const scene = new Uint8Array(await readFile(await download.path()));
    await assertValidGlb(scene);
    assert.ok(scene.length > previewBytes.length, 'the scene has more cameras than the preview');

    await shot('ws-client');
    assert.deepEqual(errors, [], 'no console errors');
  });

  test('shows errors on the page: a non-image file (dropped), an unknown engine', async () => {
    await page.click('#clear');
    assert.equal(await page.locator('#thumbs img').count(), 0);
    assert.equal(await page.isDisabled('#start'), true);

    // Named and typed like a photo, so only the server (which checks content) can refuse it.
    const dataTransfer = await page.evaluateHandle(`{
      const transfer = new DataTransfer();
      transfer.items.add(new File(['just some text'], 'holiday.jpg', { type: 'image/jpeg' }));
      transfer;
    }`);
    await page.dispatchEvent('#drop', 'dragover', { dataTransfer });
    assert.match((await page.getAttribute('#drop', 'class')) ?? '', /\bover\b/, 'highlighted while dragging');
    await page.dispatchEvent('#drop', 'drop', { dataTransfer });
    assert.equal(await page.getAttribute('#drop', 'class'), '');
    assert.equal(await page.locator('#thumbs img').count(), 1);

    await reconstruct();
    const status = (await page.textContent('#status')) ?? '';
    assert.match(status, /^Error: "holiday\.jpg" is not a JPEG, PNG, WebP or HEIC image/, status);
    assert.equal(await page.getAttribute('#status', 'class'), 'error');
    assert.match((await page.textContent('#log .error:last-child')) ?? '', /"holiday\.jpg" is not a JPEG/);
    assert.equal(await page.isVisible('#download'), false, 'no stale download link');
    assert.equal(await pageValue<string>(`document.getElementById('fill').style.width`), '0%');
    await page.waitForFunction(`document.getElementById('fill').getBoundingClientRect().width === 0`);
    assert.equal(await page.isDisabled('#start'), false, 'can try again');
    await shot('ws-client-error');
    assert.deepEqual(errors, [], 'an error message from the server is not a console error');

    await page.fill('#engine', 'nope');
    await reconstruct();
    assert.match((await page.textContent('#status')) ?? '', /^Error: Engine "nope" is not available/);
    assert.equal(await page.getAttribute('#status', 'class'), 'error');
    // Chromium itself logs the refused request; the page adds nothing.
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /^console: Failed to load resource: the server responded with a status of 400/);
  });
});
