import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeImage } from '../helpers/images.ts';
import { startTestServer, type TestServer } from '../helpers/recon.ts';
import { runRecon } from '../helpers/recon-cli.ts';

let server: TestServer;
let work: string;
let photos: string;

/** `recon …` against the test server. */
const recon = (args: string[], env: Record<string, string | undefined> = {}) =>
  runRecon(args, { cwd: work, env: { RECON_URL: server.url, RECON_TEST_ENGINES: '1', RECON_API_KEY: '', ...env } });

before(async () => {
  server = await startTestServer('pglite');
  work = await mkdtemp(join(tmpdir(), 'recon-cli-'));
  photos = join(work, 'photos');
  await mkdir(photos);
  for (const i of [0, 1, 2]) await writeFile(join(photos, `p${i}.jpg`), await makeImage(i, 'jpeg', 48));
  await writeFile(join(photos, 'README.txt'), 'not an image; skipped when the folder is expanded');
});
after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

describe('recon CLI against a server (RECON_URL)', () => {
  let completed: string;

  test('--help lists every command; each command has --help', async () => {
    const top = await recon(['--help']);
    assert.equal(top.code, 0);
    for (const command of ['run', 'ls', 'status', 'logs', 'download', 'cancel', 'rerun', 'inspect', 'engines', 'keys', 'demo', 'serve', 'worker', 'workers']) {
      assert.match(top.stdout, new RegExp(`recon ${command}\\b`), command);
    }
    for (const command of ['run', 'ls', 'status', 'logs', 'download', 'cancel', 'rerun', 'inspect']) {
      const help = await recon([command, '--help']);
      assert.equal(help.code, 0, command);
      assert.match(help.stdout, new RegExp(`Usage: recon ${command}`));
    }
  });

  test('run --wait --json: exit 0, JSON only, --set values typed', async () => {
    const { code, stdout, stderr } = await recon(['run', photos, '--engine', 'test', '--set', 'steps=2', '--set', 'maskSky=true', '--set', 'stepMs=5', '--wait', '--json']);
    assert.equal(code, 0, stderr);
    const run = JSON.parse(stdout);
    assert.equal(run.status, 'completed');
    assert.deepEqual(run.images, ['p0.jpg', 'p1.jpg', 'p2.jpg']);
    assert.equal(run.settings.steps, 2);
    assert.equal(run.settings.maskSky, true);
    completed = run.runId;
  });

  test('run --wait shows upload and stage progress, then the outcome', async () => {
    const { code, stdout } = await recon(['run', join(photos, 'p0.jpg'), join(photos, 'p1.jpg'), '--engine', 'test', '--wait']);
    assert.equal(code, 0);
    assert.match(stdout, /✓ upload\s+2 images/);
    assert.match(stdout, /inference \d+%/);
    assert.match(stdout, /✓ inference/);
    assert.match(stdout, /Run run_\w+ completed/);
  });

  test('a failing run exits 1 and says why', async () => {
    const text = await recon(['run', photos, '--engine', 'test', '--set', 'failWith=permanent', '--wait']);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /failed .*simulated permanent failure/);
    assert.match(text.stdout, /Hint: This is the test engine/);
    const json = await recon(['run', photos, '--engine', 'test', '--set', 'failWith=permanent', '--wait', '--json']);
    assert.equal(json.code, 1);
    const run = JSON.parse(json.stdout);
    assert.equal(run.status, 'failed');
    assert.match(run.error, /simulated permanent failure/);
    const status = await recon(['status', run.runId]);
    assert.equal(status.code, 1, 'status of a failed run exits 1');
    assert.match(status.stdout, /error\s+simulated permanent failure/);
  });

  test('run without --wait queues and prints the run', async () => {
    const { code, stdout } = await recon(['run', photos, '--engine', 'test', '--json']);
    assert.equal(code, 0);
    const run = JSON.parse(stdout);
    assert.equal(run.status, 'processing');
  });

  test('usage errors exit 2 with a helpful message', async () => {
    const unknown = await recon(['run', photos, '--engin', 'test']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option --engin — did you mean --engine\?/);
    assert.match(unknown.stderr, /Usage: recon run/);
    const cases = [
      [['frobnicate'], /Unknown command "frobnicate"/],
      [['run'], /missing argument/],
      [['run', photos, '--set', 'steps'], /--set expects key=value/],
      [['run', join(work, 'nope')], /no such file or folder/],
      [['run', photos, '--engine'], /argument missing/],
      [['status'], /missing argument/],
      [['status', 'a', 'b'], /unexpected argument "b"/],
      [['ls', '--status', 'finished'], /unknown status "finished"/],
      [['ls', '--limit', 'ten'], /--limit expects a whole number/],
      [['download', completed, '--type', 'mesh'], /unknown artifact type "mesh"/],
    ] as const;
    for (const [args, message] of cases) {
      const result = await recon([...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    const invalid = await recon(['run', photos, '--engine', 'test', '--set', 'steps=lots']);
    assert.equal(invalid.code, 2, 'settings the server refuses (400) are usage errors');
    assert.match(invalid.stderr, /Invalid settings for engine "test"/);
    assert.match(invalid.stderr, /steps: /);
  });

  test('ls: table, filters, --json', async () => {
    const table = await recon(['ls']);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^RUN\s+STATUS\s+ENGINE/);
    assert.ok(table.stdout.includes(completed));
    const json = await recon(['ls', '--status', 'failed', '--engine', 'test', '--limit', '1', '--json']);
    assert.equal(json.code, 0);
    const list = JSON.parse(json.stdout);
    assert.equal(list.runs.length, 1);
    assert.equal(list.runs[0].status, 'failed');
    assert.ok(list.total >= 2);
  });

  test('status and logs', async () => {
    const text = await recon(['status', completed]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /status\s+completed/);
    assert.match(text.stdout, /glb\s+http:\/\/.*\/artifacts\/glb/);
    const json = await recon(['status', completed, '--json']);
    assert.equal(JSON.parse(json.stdout).runId, completed);
    const missing = await recon(['status', 'run_1700000000000_abcdefgh']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist \(HTTP 404 Not Found\)/);

    const logs = await recon(['logs', completed]);
    assert.equal(logs.code, 0);
    assert.match(logs.stdout, /step 1 of 2 over 3 images/);
    assert.match(logs.stdout, /── completed/);
    const follow = await recon(['logs', completed, '-f', '--json']);
    const events = follow.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(
      events.map((e) => e.id),
      events.map((_, i) => i + 1),
    );
  });

  test('download writes the files; inspect reads them', async () => {
    const out = join(work, 'downloads');
    const all = await recon(['download', completed, '--out', out, '--json']);
    assert.equal(all.code, 0, all.stderr);
    const files: { type: string; path: string; bytes: number }[] = JSON.parse(all.stdout);
    const artifacts = Object.keys(JSON.parse((await recon(['status', completed, '--json'])).stdout).artifacts);
    assert.deepEqual(files.map((f) => f.type).sort(), artifacts.sort(), 'every artifact');
    assert.ok(artifacts.includes('glb') && artifacts.includes('predictions'));
    assert.deepEqual((await readdir(out)).sort(), files.map((f) => f.path.slice(out.length + 1)).sort());
    for (const file of files) assert.equal((await readFile(file.path)).length, file.bytes);
    const one = await recon(['download', completed, '--type', 'glb', '--out', join(work, 'scene.glb')]);
    assert.equal(one.code, 0);
    assert.equal((await readFile(join(work, 'scene.glb'))).subarray(0, 4).toString(), 'glTF');

    const glb = await recon(['inspect', join(work, 'scene.glb'), '--json']);
    assert.equal(glb.code, 0);
    assert.equal(JSON.parse(glb.stdout).kind, 'glb');
    const npz = await recon(['inspect', join(out, `${completed}-predictions.npz`)]);
    assert.equal(npz.code, 0);
    assert.match(npz.stdout, /extrinsic\s+<f4 \[3,3,4\]/);
    const bad = await recon(['inspect', join(photos, 'README.txt')]);
    assert.equal(bad.code, 1);
  });

  test('cancel, and cancel again (409: exit 1); rerun --set --wait', async () => {
    const queued = JSON.parse((await recon(['run', photos, '--engine', 'test', '--set', 'steps=500', '--set', 'stepMs=50', '--json'])).stdout);
    const cancel = await recon(['cancel', queued.runId]);
    assert.equal(cancel.code, 0);
    assert.match(cancel.stdout, /Canceled/);
    const again = await recon(['cancel', queued.runId]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already canceled \(HTTP 409 Conflict\)/);

    const rerun = await recon(['rerun', completed, '--set', 'steps=1', '--wait', '--json']);
    assert.equal(rerun.code, 0, rerun.stderr);
    const child = JSON.parse(rerun.stdout);
    assert.equal(child.parentRunId, completed);
    assert.equal(child.status, 'completed');
    assert.equal(child.settings.steps, 1);
  });

  test('workers: the live workers as a table, or --json', async () => {
    const json = await recon(['workers', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const { workers } = JSON.parse(json.stdout);
    assert.equal(workers.length, 1, 'the test server’s own worker');
    assert.ok(workers[0].engines.includes('test'));
    const text = await recon(['workers']);
    assert.equal(text.code, 0, text.stderr);
    const [header, row] = text.stdout.trim().split('\n');
    assert.match(header ?? '', /^NAME\s+ENGINES\s+RUNS\s+HEARTBEAT\s+VERSION$/);
    assert.match(row ?? '', new RegExp(`^${workers[0].name}\\s+.*test.*\\s+0\\s+\\d+ s ago\\s+${workers[0].version}$`));
    assert.equal((await recon(['workers', 'extra'])).code, 2);
  });

  test('run --out downloads the artifacts after success', async () => {
    const out = join(work, 'out');
    const { code, stdout } = await recon(['run', photos, '--engine', 'test', '--set', 'steps=1', '--out', out, '--json']);
    assert.equal(code, 0);
    const run = JSON.parse(stdout);
    assert.equal(run.files.length, Object.keys(run.artifacts).length);
    const names = await readdir(out);
    assert.ok(names.includes(`${run.runId}-scene.glb`) && names.includes(`${run.runId}-predictions.npz`), names.join(', '));
  });
});

describe('recon run without RECON_URL', () => {
  test('starts an embedded server on RECON_DATA_DIR for the command', async () => {
    const dataDir = join(work, 'embedded-data');
    const { code, stdout, stderr } = await recon(['run', photos, '--engine', 'test', '--set', 'steps=2', '--json'], {
      RECON_URL: undefined,
      RECON_DATA_DIR: dataDir,
    });
    assert.equal(code, 0, stderr);
    const run = JSON.parse(stdout);
    assert.equal(run.status, 'completed', 'waits without --wait: the server ends with the command');
    assert.deepEqual((await readdir(join(dataDir, 'runs', run.runId))).filter((f) => /\.(glb|npz)$/.test(f)).sort(), [
      'predictions.npz',
      'scene.glb',
    ]);
  });
});
