import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveObjectURL } from 'node:buffer';
import vm from 'node:vm';
import { makeImage } from '../helpers/images.ts';
import { startTestServer, type TestServer } from '../helpers/recon.ts';

const validator = createRequire(import.meta.url)('gltf-validator') as {
  validateBytes(data: Uint8Array): Promise<{ issues: { numErrors: number; messages: unknown[] } }>;
};
const ROOT = join(import.meta.dirname, '..', '..');
const NODE = process.execPath;

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

/** Just enough DOM for the page's script: elements by id, events, classList, style, children. */
class FakeElement {
  id: string;
  tagName: string;
  value = '';
  checked = false;
  disabled = false;
  hidden = false;
  href = '';
  download = '';
  src = '';
  alt = '';
  title = '';
  className = '';
  textContent = '';
  scrollTop = 0;
  scrollHeight = 0;
  files: File[] = [];
  style: Record<string, string> = {};
  children: FakeElement[] = [];
  readonly #listeners = new Map<string, ((event: unknown) => void)[]>();
  readonly classList = {
    set: new Set<string>(),
    add: (c: string) => this.classList.set.add(c),
    remove: (c: string) => this.classList.set.delete(c),
  };
  onclick: (() => void) | undefined;
  constructor(tagName: string, id = '', attributes: Record<string, string> = {}) {
    this.tagName = tagName;
    this.id = id;
    if (attributes.value !== undefined) this.value = attributes.value;
    if ('hidden' in attributes) this.hidden = true;
    if ('disabled' in attributes) this.disabled = true;
  }
  addEventListener(type: string, listener: (event: unknown) => void) {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }
  dispatch(type: string, event: Record<string, unknown> = {}) {
    for (const listener of this.#listeners.get(type) ?? []) listener({ preventDefault() {}, ...event });
  }
  appendChild(child: FakeElement) {
    this.children.push(child);
    return child;
  }
  click() {
    this.dispatch('click');
  }
}

describe('examples/ws-client.html (single-file page)', () => {
  test('drag-and-drop photos, incremental previews, progress bar to 100%, a download link to a valid GLB', async () => {
    const html = await readFile(join(ROOT, 'examples/ws-client.html'), 'utf8');
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1];
    assert.ok(script, 'one inline script');
    // Every element the script looks up exists in the page, with the attributes it starts with.
    const elements = new Map<string, FakeElement>();
    for (const match of html.matchAll(/<(\w+)\s+([^>]*\bid="(\w+)"[^>]*)>/g)) {
      const attributes = Object.fromEntries([...match[2]!.matchAll(/(\w+)(?:="([^"]*)")?/g)].map((a) => [a[1]!, a[2] ?? '']));
      elements.set(match[3]!, new FakeElement(match[1]!, match[3]!, attributes));
    }
    for (const [, id] of script.matchAll(/\$\('(\w+)'\)/g)) assert.ok(elements.has(id!), `#${id} is in the page`);

    const widths: string[] = [];
    const fill = elements.get('fill')!;
    fill.style = new Proxy({} as Record<string, string>, {
      set: (target, key, value) => {
        if (key === 'width') widths.push(value);
        target[key as string] = value;
        return true;
      },
    });
    const window: Record<string, unknown> = {};
    const context = vm.createContext({
      window,
      document: {
        getElementById: (id: string) => elements.get(id) ?? null,
        createElement: (tag: string) => new FakeElement(tag),
      },
      location: { origin: server.url.replace(/\/$/, '') },
      fetch,
      WebSocket,
      URL,
      URLSearchParams,
      Blob,
      atob,
      btoa,
      console,
      setTimeout,
      Uint8Array,
      String,
    });
    vm.runInContext(script, context);
    assert.equal(elements.get('server')!.value, server.url.replace(/\/$/, ''), 'defaults to the page origin');
    assert.equal(elements.get('start')!.disabled, true, 'nothing to send yet');

    const files = await Promise.all([0, 1, 2, 3].map(async (i) => new File([await makeImage(i, 'jpeg', 48)], `p${i}.jpg`, { type: 'image/jpeg' })));
    const drop = elements.get('drop')!;
    drop.dispatch('dragover');
    assert.ok(drop.classList.set.has('over'));
    drop.dispatch('drop', { dataTransfer: { files: [...files, new File(['x'], 'readme.txt', { type: 'text/plain' })] } });
    assert.equal(elements.get('thumbs')!.children.length, 4, 'four thumbnails, the text file ignored');
    assert.equal(elements.get('start')!.disabled, false);

    elements.get('engine')!.value = 'test';
    elements.get('incremental')!.checked = true;
    elements.get('start')!.click();
    await (window.reconDone as Promise<unknown>);

    const status = elements.get('status')!;
    assert.match(status.textContent, /^Done: 4 cameras/, status.textContent);
    assert.equal(widths.at(-1), '100%');
    assert.ok(widths.some((w) => w !== '0%' && w !== '100%'), `progress in between: ${widths.join(' ')}`);
    const preview = elements.get('deltaLink')!;
    assert.equal(preview.hidden, false);
    assert.equal(preview.download, 'preview-2.glb');
    const download = elements.get('download')!;
    assert.equal(download.hidden, false);
    assert.equal(download.download, 'scene.glb');
    const blob = resolveObjectURL(download.href);
    assert.ok(blob, `download link is a live blob URL (${download.href})`);
    await assertValidGlb(new Uint8Array(await blob.arrayBuffer()));
    const log = elements.get('log')!.children.map((c) => c.textContent).join('\n');
    assert.match(log, /session [0-9a-f-]{36} \(engine test\)/);
    assert.match(log, /preview: 2 images/);

    // An error (unknown engine) is shown on the page.
    elements.get('engine')!.value = 'nope';
    elements.get('start')!.click();
    await (window.reconDone as Promise<unknown>);
    assert.match(status.textContent, /Error: Engine "nope" is not available/);
    assert.equal(status.className, 'error');
  });
});
