/**
 * readNpz vs numpy.load on a VGGT-sized predictions.npz (np.savez, float32, 32 frames of
 * 392x518). Both sides load every non-object member and touch one item per 4 KiB page; each side
 * times itself in-process (no interpreter start-up) and reports its best of REPETITIONS.
 *
 * Most of the cost on both sides is faulting in fresh memory for ~300 MB of arrays. numpy asks
 * the kernel for transparent huge pages (madvise) for its arrays; Node cannot, but glibc does when
 * started with GLIBC_TUNABLES=glibc.malloc.hugetlb=1. So our side is measured twice: as is, and
 * in a child process with that setting (what a deployment can set).
 *
 * Ours is timed with load() (parallel reads off the event loop, what large members should use),
 * with get() (one synchronous read per member), and load() again with huge pages.
 *
 * Run: node_modules/.bin/node bench/npz.ts   (last line: JSON with the times and ratios)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpz } from '../src/formats/npz.ts';

const REPETITIONS = 7;
const PAGE = 4096;
const HUGE_PAGES = 'glibc.malloc.hugetlb=1';

const GENERATE = `
import sys
import numpy as np
S, H, W = 32, 392, 518
rng = np.random.default_rng(0)
f32 = lambda *shape: rng.random(shape, dtype=np.float32)
pose_enc_list = np.empty(4, dtype=object)
for i in range(4):
    pose_enc_list[i] = f32(S, 9)
np.savez(sys.argv[1], extrinsic=f32(S, 3, 4), intrinsic=f32(S, 3, 3), depth=f32(S, H, W, 1),
         depth_conf=f32(S, H, W), world_points=f32(S, H, W, 3), world_points_conf=f32(S, H, W),
         images=f32(S, 3, H, W), pose_enc=f32(S, 9), world_points_from_depth=f32(S, H, W, 3),
         pose_enc_list=pose_enc_list)
`;

const NUMPY_LOAD = `
import json, sys, time
import numpy as np
path, repetitions, page = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def load_and_touch():
    start = time.perf_counter()
    total = 0.0
    with np.load(path, allow_pickle=False) as npz:
        for key in npz.files:
            try:
                array = npz[key]
            except ValueError:  # the pickled object member, refused as we refuse it
                continue
            flat = array.reshape(-1, order='A')
            total += float(flat[::max(1, page // array.itemsize)].sum(dtype=np.float64))
    return time.perf_counter() - start, total
runs = [load_and_touch() for _ in range(repetitions)]
print(json.dumps({'seconds': min(r[0] for r in runs), 'checksum': runs[0][1]}))
`;

interface Timing {
  seconds: number;
  checksum: number;
}

/** 'load' reads each member off the event loop in parallel chunks; 'get' reads it synchronously. */
type Mode = 'load' | 'get';

async function loadAndTouch(path: string, mode: Mode): Promise<Timing> {
  const start = performance.now();
  let checksum = 0;
  const npz = await readNpz(path);
  for (const member of npz.members) {
    if (member.pickled) continue;
    const array = mode === 'load' ? await npz.load(member.name) : npz.get(member.name);
    const data = array.data as Float32Array;
    const stride = Math.max(1, PAGE / data.BYTES_PER_ELEMENT);
    for (let i = 0; i < data.length; i += stride) checksum += data[i]!;
  }
  await npz.close();
  return { seconds: (performance.now() - start) / 1000, checksum };
}

async function bestOf(path: string, mode: Mode = 'load'): Promise<Timing> {
  const runs: Timing[] = [];
  for (let i = 0; i < REPETITIONS; i++) runs.push(await loadAndTouch(path, mode));
  return { seconds: Math.min(...runs.map((r) => r.seconds)), checksum: runs[0]!.checksum };
}

function runChild(path: string): Timing {
  const tunables = [process.env.GLIBC_TUNABLES, HUGE_PAGES].filter(Boolean).join(':');
  const output = execFileSync(process.execPath, [import.meta.filename, '--measure', path], {
    encoding: 'utf8',
    env: { ...process.env, GLIBC_TUNABLES: tunables },
  });
  return JSON.parse(output) as Timing;
}

const sameChecksum = (a: Timing, b: Timing) => Math.abs(a.checksum - b.checksum) <= 1e-6 * Math.abs(b.checksum);
const ms = (t: Timing) => `${(t.seconds * 1000).toFixed(1)} ms`;

if (process.argv[2] === '--measure') {
  console.log(JSON.stringify(await bestOf(process.argv[3]!)));
} else {
  const dir = mkdtempSync(join(tmpdir(), 'recon-bench-npz-'));
  try {
    const path = join(dir, 'predictions.npz');
    execFileSync('python3', ['-c', GENERATE, path], { stdio: 'inherit' });
    const numpy = JSON.parse(
      execFileSync('python3', ['-c', NUMPY_LOAD, path, String(REPETITIONS), String(PAGE)], { encoding: 'utf8' }),
    ) as Timing;
    const ours = await bestOf(path);
    const oursSync = await bestOf(path, 'get');
    const oursHugePages = runChild(path);
    console.log(`numpy.load:                        ${ms(numpy)}`);
    console.log(`readNpz, load():                   ${ms(ours)}`);
    console.log(`readNpz, get() (synchronous):      ${ms(oursSync)}`);
    console.log(`readNpz with ${HUGE_PAGES}: ${ms(oursHugePages)}`);
    console.log(
      JSON.stringify({
        file_bytes: statSync(path).size,
        repetitions: REPETITIONS,
        numpy_s: numpy.seconds,
        ours_s: ours.seconds,
        ratio: ours.seconds / numpy.seconds,
        ours_sync_s: oursSync.seconds,
        ratio_sync: oursSync.seconds / numpy.seconds,
        ours_huge_pages_s: oursHugePages.seconds,
        ratio_huge_pages: oursHugePages.seconds / numpy.seconds,
        checksums_match: [ours, oursSync, oursHugePages].every((t) => sameChecksum(t, numpy)),
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
