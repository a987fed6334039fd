import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from '../helpers/recon.ts';

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const STUB = join(ROOT, 'test/fixtures/vggt-stub');

/** `recon engines` against a server (RECON_URL) and against this machine's configuration. */
describe('recon engines', () => {
  let root: string;
  let server: TestServer;
  let weights: string;
  let closedPort: number;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'recon-engines-cli-'));
    weights = join(root, 'model.pt');
    await writeFile(weights, 'stand-in checkpoint');
    // A port that was just free: connecting to it is refused.
    const probe = createServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((done) => probe.close(done));
    server = await startTestServer('pglite', { DA3_URL: `http://127.0.0.1:${closedPort}` });
  });
  after(async () => {
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  const recon = (args: string[], env: Record<string, string>) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(RECON_|VGGT_|DA3_|HF_TOKEN|PYTHONPATH)/.test(k)));
    return exec(NODE, [join(ROOT, 'src/main.ts'), ...args], { env: { ...clean, ...env }, cwd: root });
  };

  test('local: vggt-local usable with weights and the stand-in packages, da3 says DA3_URL is missing', async () => {
    const { stdout } = await recon(['engines', '--json'], { PYTHONPATH: STUB, VGGT_WEIGHTS: weights, RECON_DATA_DIR: join(root, 'data') });
    const listing = JSON.parse(stdout);
    assert.equal(listing.default, 'vggt-local');
    const byId = Object.fromEntries(listing.engines.map((e: { id: string }) => [e.id, e]));
    assert.equal(byId['vggt-local'].available, true, byId['vggt-local'].reason);
    assert.equal(byId.da3.available, false);
    assert.match(byId.da3.reason, /^DA3_URL is not set/);
    assert.equal(byId.da3.settingsSchema.properties.processRes.default, 504);
  });

  test('local, no torch: the reason names the missing package and the Python', async () => {
    const { stdout } = await recon(['engines'], { VGGT_WEIGHTS: weights, RECON_DATA_DIR: join(root, 'data') });
    assert.match(stdout, /^vggt-local \(default\) — VGGT \(your GPU\): NOT usable — PyTorch is not installed for \S+ \(VGGT_PYTHON=python3\)$/m);
    assert.match(stdout, /^ {4}confThreshold = 50 +number 0–100/m);
  });

  test('RECON_URL: asks the server', async () => {
    const { stdout } = await recon(['engines'], { RECON_URL: server.url });
    assert.match(stdout, new RegExp(`^Engines on server ${server.url.replace(/[.]/g, '\\.')}`));
    assert.match(stdout, /^vggt-local — VGGT \(your GPU\): NOT usable — VGGT_WEIGHTS is not set/m);
    assert.ok(stdout.includes(`\nda3 — Depth Anything 3: NOT usable — The DA3 backend at http://127.0.0.1:${closedPort} is unreachable: ECONNREFUSED`), stdout);
  });
});
