import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EngineError } from '../../src/engines/engine.ts';
import { createVggtLocalEngine, type VggtLocalEngine, vggtLocalSettings } from '../../src/engines/vggt-local/index.ts';
import { makeImage } from '../helpers/images.ts';
import { createFakeContext, type FakeRun } from '../fixtures/synthetic/fake-context.ts';

const STUB = resolve(import.meta.dirname, '../fixtures/vggt-stub');

describe('vggt-local errors (real worker.py)', () => {
  let root: string;
  let images: string[];
  let weights: string;
  const engines: VggtLocalEngine[] = [];
  const runs: FakeRun<unknown>[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'recon-vggt-errors-'));
    weights = join(root, 'model.pt');
    await writeFile(weights, 'stand-in checkpoint');
    images = await Promise.all([0, 1].map(async (i) => {
      const path = join(root, `img${i}.jpg`);
      await writeFile(path, await makeImage(i, 'jpeg', 40));
      return path;
    }));
  });
  after(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all([root, ...runs.map((r) => r.root)].map((d) => rm(d, { recursive: true, force: true })));
  });

  const engine = (options: Partial<Parameters<typeof createVggtLocalEngine>[0]> & { stubEnv?: Record<string, string>; stub?: boolean } = {}) => {
    const { stubEnv = {}, stub = true, ...rest } = options;
    const env = { ...process.env, ...(stub && { PYTHONPATH: STUB }), VGGT_STUB_SIZE: '28', ...stubEnv };
    const e = createVggtLocalEngine({ weights, env, ...rest });
    engines.push(e);
    return e;
  };
  const run = async (e: VggtLocalEngine, inputs = images) => {
    const r = await createFakeContext(inputs, vggtLocalSettings.parse({}));
    runs.push(r as FakeRun<unknown>);
    const error = await e.run(r.ctx).then(() => undefined, (err: unknown) => err);
    return { r, error: error as EngineError | undefined };
  };

  test('no torch: says so, names the Python, and how to install', async () => {
    const e = engine({ stub: false });
    const check = await e.check();
    assert.equal(check.ok, false);
    assert.match(check.reason!, /^PyTorch is not installed for \S+python3\S* \(VGGT_PYTHON=python3\)$/);
    const { error } = await run(e);
    assert.ok(error instanceof EngineError && !error.transient);
    assert.match(error.message, /^PyTorch is not installed for \S+ \(No module named 'torch'\)\. Install a CUDA build of torch/);
    assert.match(error.hint!, /pip install git\+https:\/\/github\.com\/facebookresearch\/vggt/);
  });

  test('no CUDA: refuses unless VGGT_ALLOW_CPU', async () => {
    const e = engine({ stubEnv: { TORCH_STUB_CUDA: '0' } });
    assert.match((await e.check()).reason!, /^torch 0\.0\+stub sees no CUDA GPU \(set VGGT_ALLOW_CPU=1 to use the CPU\)/);
    const { error } = await run(e);
    assert.match(error!.message, /^CUDA is not available to torch 0\.0\+stub .*: no NVIDIA GPU is visible or torch is a CPU-only build\. VGGT needs a GPU; set VGGT_ALLOW_CPU=1/);
    const cpu = engine({ stubEnv: { TORCH_STUB_CUDA: '0' }, allowCpu: true });
    assert.deepEqual(await cpu.check(), { ok: true });
    const ok = await run(cpu);
    assert.equal(ok.error, undefined);
    assert.ok(ok.r.logs.some((l) => /^VGGT model loaded in .* on cpu, float32$/.test(l)), ok.r.logs.join('\n'));
  });

  test('weights: unset, missing file, unknown hub id', async () => {
    const unset = engine({ weights: undefined });
    assert.match((await unset.check()).reason!, /^VGGT_WEIGHTS is not set: point it at a VGGT checkpoint file/);
    assert.match((await run(unset)).error!.message, /^vggt-local is not configured on this worker: VGGT_WEIGHTS is not set$/);

    const missing = engine({ weights: join(root, 'nope.pt') });
    assert.match((await missing.check()).reason!, /^the weights file .*nope\.pt does not exist/);
    const { error } = await run(missing);
    assert.match(error!.message, /^The VGGT weights file .*nope\.pt does not exist \(VGGT_WEIGHTS\)$/);
    assert.match(error!.hint!, /facebook\/VGGT-1B/);

    const hub = engine({ weights: 'someone/not-vggt' });
    assert.match((await run(hub)).error!.message, /^Could not load the VGGT weights someone\/not-vggt: OSError: someone\/not-vggt is not a local folder/);
    const good = engine({ weights: 'facebook/VGGT-1B' });
    assert.equal((await run(good)).error, undefined);
  });

  test('no Python: a clear message', async () => {
    const e = engine({ python: '/nonexistent/python3' });
    assert.equal((await e.check()).reason, 'Python not found: VGGT_PYTHON is "/nonexistent/python3", which cannot be started');
    assert.equal((await run(e)).error!.message, 'Python was not found: VGGT_PYTHON is "/nonexistent/python3", which cannot be started');
  });

  test('unreadable image: bad input, worker stays up', async () => {
    const e = engine();
    const bogus = join(root, 'bogus.jpg');
    await writeFile(bogus, 'not an image');
    const { error } = await run(e, [bogus]);
    assert.match(error!.message, /^Could not read the images: UnidentifiedImageError: cannot identify image file/);
    assert.ok(e.worker.warm);
  });

  test('timeout: the worker is killed and restarted for the next run', async () => {
    const e = engine({ timeoutMs: 800, stubEnv: { VGGT_STUB_SLEEP_SECONDS: '5' } });
    const started = Date.now();
    const { error } = await run(e);
    assert.ok(Date.now() - started < 4000);
    assert.equal(error!.message, 'The VGGT worker did not finish 2 images within 1 s; it was stopped and will be restarted');
    assert.equal(error!.transient, false);
    assert.equal(e.worker.warm, false);
  });

  test('cancel: aborting kills the worker; the next run starts a fresh one', async () => {
    const e = engine({ stubEnv: { VGGT_STUB_SLEEP_SECONDS: '5' } });
    const r = await createFakeContext(images, vggtLocalSettings.parse({}));
    runs.push(r as FakeRun<unknown>);
    const pending = e.run(r.ctx);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const pid = e.worker.pid;
    r.controller.abort(new Error('canceled by test'));
    await assert.rejects(pending, /canceled by test/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.throws(() => process.kill(pid!, 0), /ESRCH/);
  });
});
