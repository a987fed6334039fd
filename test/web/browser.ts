import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import sharp from 'sharp';
import { buildWeb } from '../../web/build.ts';

export const CHROMIUM = process.env.RECON_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = resolve(import.meta.dirname, '..', '..', 'test-output', 'web');

/** Debian's Chromium, headless, fresh profile, software WebGL (no GPU in CI). */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  await buildWeb({ ifStale: true, quiet: true });
  await mkdir(SCREENSHOTS, { recursive: true });
  const profile = await mkdtemp(join(tmpdir(), 'recon-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Every console error and uncaught exception on the page, for a final "none" assertion. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  return errors;
}

/** How many pixels of a PNG differ clearly from `background` (#rrggbb). */
export async function countForeground(png: Buffer, background: string): Promise<{ foreground: number; total: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const bg = [1, 3, 5].map((i) => Number.parseInt(background.slice(i, i + 2), 16));
  let foreground = 0;
  for (let o = 0; o < data.length; o += info.channels) {
    const diff = Math.abs(data[o]! - bg[0]!) + Math.abs(data[o + 1]! - bg[1]!) + Math.abs(data[o + 2]! - bg[2]!);
    if (diff > 40) foreground++;
  }
  return { foreground, total: info.width * info.height };
}

// Page-side checks are strings: the test files are type-checked without the DOM library.

/** The page must not scroll sideways (phone widths). */
export const overflowsSideways = (page: Page) =>
  page.evaluate('document.documentElement.scrollWidth > window.innerWidth + 1') as Promise<boolean>;

/** Form controls without a label or accessible name (buttons included). */
export const unlabelledControls = (page: Page) =>
  page.evaluate(`[...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => {
      if (el.type === 'hidden') return false;
      const labelled = el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      return !labelled && !(el.tagName === 'BUTTON' && el.textContent.trim());
    })
    .map((el) => el.outerHTML.slice(0, 120))`) as Promise<string[]>;

/** Waits until the image matching `selector` has loaded pixels. */
export const imageLoaded = (page: Page, selector: string) =>
  page.waitForFunction(`(document.querySelector(${JSON.stringify(selector)})?.naturalWidth ?? 0) > 0`);

/** Playwright's rendered text of a locator. */
export function textOf(locator: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText, not the DOM property
  return locator.innerText();
}
