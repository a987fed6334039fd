/**
 * Uploading 1 GiB in 20 files: Recon's `POST /api/runs/:id/images` against a bare Node `http`
 * server that pipes the same multipart request body straight to disk.
 *
 * Both servers run in child processes of their own (so each one's RSS is its own, read from
 * /proc every 50 ms plus the kernel's high-water mark after a reset), both get the same client: one
 * request per upload, the body streamed from 20 files on disk with an exact Content-Length. The
 * sides alternate for ROUNDS rounds, dirty pages are flushed (`sync`) before every upload, and each
 * side reports its best and median throughput. Goals: recon/reference ≥ 0.8, Recon's peak RSS
 * growth during an upload < 100 MB. Nothing here asserts on timing; it fails only when an upload
 * fails or what was stored is not what was sent.
 *
 * Run: node_modules/.bin/node bench/upload.ts [--profile]   (last line: JSON with the numbers)
 * BENCH_ROUNDS=N changes the number of rounds; BENCH_RECON_NODE_FLAGS="--max-semi-space-size=1" (for
 * example) starts the Recon child with those Node flags, to try V8 settings without touching src/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latestProfile, monotonicMicros, printSummary, summarize } from './lib/cpuprofile.ts';
import { createRun, deleteRun, uploadServerEnv } from './lib/recon-runs.ts';
import { makeFiles, multipartBody, post, sameEnds } from './lib/multipart-body.ts';
import { cpuSeconds, freePort, type NodeChild, RECON_NODE_FLAGS, RssSampler, startNode, waitForHttp } from './lib/proc.ts';
import { MiB, max, median, mib, round, table } from './lib/report.ts';

const FILES = 20;
const TOTAL_BYTES = 1024 * MiB;
const FILE_BYTES = Math.floor(TOTAL_BYTES / FILES); // ~51.2 MiB
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** `--profile`: both servers run under --cpu-prof; where their main threads spent time is printed at the end. */
const PROFILE = process.argv.includes('--profile');

const allocated = (path: string) => statSync(path).blocks * 512;

interface Measurement {
  side: 'reference' | 'recon';
  round: number;
  seconds: number;
  mibPerSecond: number;
  rssBefore: number;
  rssPeak: number;
  rssGrowth: number;
  rssSource: string;
  cpuSeconds: number;
  storedBytes: number;
  allocatedBytes: number;
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'recon-bench-upload-'));
  const children: NodeChild[] = [];
  try {
    const sourceDir = join(work, 'source');
    const referenceDir = join(work, 'reference');
    const dataDir = join(work, 'recon-data');
    for (const dir of [sourceDir, referenceDir, dataDir]) mkdirSync(dir, { recursive: true });

    let started = performance.now();
    const sources = makeFiles(sourceDir, 'photo', FILES, FILE_BYTES);
    const warmSources = makeFiles(sourceDir, 'warm', 2, 256 * 1024);
    const body = multipartBody(sources);
    const warmBody = multipartBody(warmSources);
    console.log(
      `generated ${FILES} files of ${mib(FILE_BYTES, 2)} MiB (${mib(body.payloadBytes)} MiB, body ${body.length} bytes) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    started = performance.now();
    const profileFlags = (name: string) => (PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(work, 'profiles', name)}`] : []);
    const reference = startNode([...profileFlags('reference'), 'bench/lib/reference-upload-server.ts'], { BENCH_REFERENCE_DIR: referenceDir });
    children.push(reference);
    const referencePort = Number((await reference.waitForLine(/^LISTENING (\d+)$/))[1]);
    const referenceUrl = `http://127.0.0.1:${referencePort}/upload`;

    const port = await freePort();
    const recon = startNode([...RECON_NODE_FLAGS, ...profileFlags('recon'), 'src/main.ts', 'serve'], uploadServerEnv(dataDir, port));
    children.push(recon);
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/api/health`, recon);
    console.log(`servers up in ${((performance.now() - started) / 1000).toFixed(1)} s: reference pid ${reference.pid}, recon pid ${recon.pid} (${base})`);


    // Warm-up: one small upload each, not measured.
    {
      const warmReference = await post(referenceUrl, warmBody);
      if (warmReference.status !== 200) throw new Error(`reference warm-up: ${warmReference.status} ${warmReference.text}`);
      const runId = await createRun(base);
      const warmRecon = await post(`${base}/api/runs/${runId}/images`, warmBody);
      if (warmRecon.status !== 200) throw new Error(`recon warm-up: ${warmRecon.status} ${warmRecon.text}`);
      await deleteRun(base, runId);
      for (const name of readdirSync(referenceDir)) await rm(join(referenceDir, name), { force: true });
    }

    const measured: Measurement[] = [];
    const windows: Record<Measurement['side'], [number, number][]> = { reference: [], recon: [] };
    const measure = async (side: Measurement['side'], round: number, pid: number, url: string) => {
      execFileSync('sync');
      const cpuBefore = cpuSeconds(pid);
      const sampler = new RssSampler(pid, 50);
      const from = monotonicMicros();
      const result = await post(url, body);
      windows[side].push([from, monotonicMicros()]);
      const rss = sampler.stop();
      const cpu = cpuSeconds(pid) - cpuBefore;
      if (result.status !== 200) throw new Error(`${side} round ${round}: HTTP ${result.status} ${result.text.slice(0, 500)}`);
      return { result, rss, cpu };
    };
    const record = (side: Measurement['side'], round: number, m: Awaited<ReturnType<typeof measure>>, stored: number, alloc: number) => {
      const entry: Measurement = {
        side,
        round,
        seconds: m.result.seconds,
        mibPerSecond: body.payloadBytes / MiB / m.result.seconds,
        rssBefore: m.rss.before,
        rssPeak: m.rss.peak,
        rssGrowth: m.rss.growth,
        rssSource: m.rss.source,
        cpuSeconds: m.cpu,
        storedBytes: stored,
        allocatedBytes: alloc,
      };
      measured.push(entry);
      console.log(
        `  round ${round} ${side.padEnd(9)} ${entry.seconds.toFixed(2)} s  ${entry.mibPerSecond.toFixed(1)} MiB/s  RSS +${mib(entry.rssGrowth)} MiB  cpu ${entry.cpuSeconds.toFixed(2)} s`,
      );
    };

    for (let round = 1; round <= ROUNDS; round++) {
      // Reference: the body lands in one file, multipart framing included.
      const ref = await measure('reference', round, reference.pid, referenceUrl);
      const answer = JSON.parse(ref.result.text) as { path: string; bytes: number };
      const size = statSync(answer.path).size;
      if (answer.bytes !== body.length || size !== body.length) {
        throw new Error(`reference stored ${size} bytes (reported ${answer.bytes}), sent ${body.length}`);
      }
      record('reference', round, ref, size, allocated(answer.path));
      await rm(answer.path, { force: true });

      // Recon: a new run, 20 images in one request, each stored as sent.
      const runId = await createRun(base);
      const rec = await measure('recon', round, recon.pid, `${base}/api/runs/${runId}/images`);
      const result = JSON.parse(rec.result.text) as { imagesUploaded: number; images: string[]; stored: { original: string; stored: string }[] };
      if (result.imagesUploaded !== FILES || result.images.length !== FILES) {
        throw new Error(`recon round ${round}: ${result.imagesUploaded} uploaded, ${result.images.length} images (want ${FILES})`);
      }
      let stored = 0;
      let alloc = 0;
      for (const { original, stored: name } of result.stored) {
        const path = join(dataDir, 'runs', runId, 'images', name);
        const source = join(sourceDir, original);
        const s = statSync(path);
        if (s.size !== FILE_BYTES || !sameEnds(path, source, FILE_BYTES)) throw new Error(`recon round ${round}: ${name} differs from ${original}`);
        stored += s.size;
        alloc += s.blocks * 512;
      }
      if (stored !== body.payloadBytes) throw new Error(`recon round ${round}: stored ${stored} bytes, sent ${body.payloadBytes}`);
      const leftovers = readdirSync(join(dataDir, 'tmp', 'staging')).length;
      if (leftovers) throw new Error(`recon round ${round}: ${leftovers} staged files left in ${join(dataDir, 'tmp', 'staging')}`);
      record('recon', round, rec, stored, alloc);
      await deleteRun(base, runId);
    }

    const sides = (['reference', 'recon'] as const).map((side) => {
      const rows = measured.filter((m) => m.side === side);
      const speeds = rows.map((m) => m.mibPerSecond);
      return {
        side,
        best: max(speeds),
        median: median(speeds),
        rssBefore: max(rows.map((m) => m.rssBefore)),
        rssGrowthMax: max(rows.map((m) => m.rssGrowth)),
        rssGrowthMedian: median(rows.map((m) => m.rssGrowth)),
        cpuPerGiB: median(rows.map((m) => m.cpuSeconds)) / (body.payloadBytes / TOTAL_BYTES),
      };
    });
    const [ref, rec] = sides as [(typeof sides)[0], (typeof sides)[0]];
    const ratioBest = rec.best / ref.best;
    const ratioMedian = rec.median / ref.median;
    const reconGrowthMB = rec.rssGrowthMax / 1e6;

    console.log(`\nuploading ${mib(body.payloadBytes, 0)} MiB in ${FILES} files, one request per upload, ${ROUNDS} rounds per side`);
    if (RECON_NODE_FLAGS.length) console.log(`recon child started with node ${RECON_NODE_FLAGS.join(' ')}`);
    console.log('');
    console.log(
      table(
        ['round', 'side', 'seconds', 'MiB/s', 'server cpu s', 'RSS before MiB', 'RSS peak MiB', 'RSS growth MiB', 'peak from', 'stored bytes', 'on disk MiB'],
        measured.map((m) => [
          m.round,
          m.side,
          m.seconds.toFixed(2),
          m.mibPerSecond.toFixed(1),
          m.cpuSeconds.toFixed(2),
          mib(m.rssBefore),
          mib(m.rssPeak),
          mib(m.rssGrowth),
          m.rssSource,
          m.storedBytes,
          mib(m.allocatedBytes),
        ]),
      ),
    );
    console.log('');
    console.log(
      table(
        ['side', 'best MiB/s', 'median MiB/s', 'server cpu s/GiB', 'RSS before MiB', 'max RSS growth MiB'],
        sides.map((s) => [s.side, s.best.toFixed(1), s.median.toFixed(1), s.cpuPerGiB.toFixed(2), mib(s.rssBefore), mib(s.rssGrowthMax)]),
      ),
    );
    console.log('');
    console.log(`throughput recon/reference: best ${ratioBest.toFixed(3)}, median ${ratioMedian.toFixed(3)}   (goal >= 0.8: ${ratioBest >= 0.8 ? 'met' : 'MISSED'})`);
    console.log(`recon peak RSS growth: ${reconGrowthMB.toFixed(1)} MB (${mib(rec.rssGrowthMax)} MiB)   (goal < 100 MB: ${reconGrowthMB < 100 ? 'met' : 'MISSED'})`);
    console.log(`stored bytes: reference ${body.length} per upload (whole body), recon ${body.payloadBytes} per upload (20 files, ends compared): ok`);
    console.log(
      JSON.stringify({
        bench: 'upload',
        files: FILES,
        payloadBytes: body.payloadBytes,
        bodyBytes: body.length,
        rounds: ROUNDS,
        reconNodeFlags: RECON_NODE_FLAGS.join(' '),
        referenceMiBps: { best: round(ref.best, 1), median: round(ref.median, 1) },
        reconMiBps: { best: round(rec.best, 1), median: round(rec.median, 1) },
        ratio: { best: round(ratioBest), median: round(ratioMedian) },
        rssGrowthMiB: { reference: round(ref.rssGrowthMax / MiB, 1), recon: round(rec.rssGrowthMax / MiB, 1) },
        reconRssGrowthMB: round(reconGrowthMB, 1),
        serverCpuSecondsPerGiB: { reference: round(ref.cpuPerGiB, 2), recon: round(rec.cpuPerGiB, 2) },
        storedBytesOk: true,
        goals: { ratio: 0.8, rssGrowthMB: 100, ratioMet: ratioBest >= 0.8, rssMet: reconGrowthMB < 100 },
      }),
    );
    if (PROFILE) {
      for (const child of children) await child.stop();
      for (const name of ['reference', 'recon'] as const) {
        console.log(`\n${name} server, main thread, during the ${ROUNDS} measured uploads only:`);
        const summary = summarize(latestProfile(join(work, 'profiles', name)), windows[name]);
        printSummary(summary);
        const inclusive = (label: string, match: (fn: string, place: string) => boolean) =>
          console.log(`  inclusive ${label}: ${(summary.inclusive(match) * 100).toFixed(1)}%`);
        inclusive('busboy + streamsearch (multipart parsing)', (_fn, p) => p === '@fastify/busboy' || p === 'busboy' || p === 'streamsearch');
        inclusive('@fastify/multipart', (_fn, p) => p === '@fastify/multipart');
        inclusive('stageImages check Transform', (fn, p) => p === 'src/http' && fn === 'transform');
        inclusive('GC', (fn) => fn === '(garbage collector)');
      }
    }
  } finally {
    for (const child of children.reverse()) await child.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
