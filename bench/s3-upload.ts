/**
 * Uploading 1 GiB in 20 files through Recon into S3: `POST /api/runs/:id/images` on a Recon server
 * whose blob store is an S3 bucket, against the AWS SDK's own `Upload` (lib-storage) of the same
 * files to the same server, with the same part size and parallelism.
 *
 * The S3 server is s3rver in a child process; Recon (`recon serve --no-workers`, as the API server
 * of a deployment on several machines runs) and the SDK reference run in children of their own too, so each one's CPU (and Recon's RSS, read from /proc every 50 ms plus the kernel's
 * high-water mark) is its own. The sides alternate for ROUNDS rounds; dirty pages are flushed
 * (`sync`) before every upload. Goals: recon/reference ≥ 0.8, Recon's peak RSS growth during an
 * upload < 150 MB. Nothing asserts on timing; it fails only when an upload fails or what S3 holds
 * is not what was sent. The machine's load (`uptime`) is printed before and after: on a shared
 * machine the ratio is the number to read, not the MiB/s.
 *
 * Run: node_modules/.bin/node bench/s3-upload.ts [--profile]   (last line: JSON with the numbers)
 * BENCH_ROUNDS=N changes the number of rounds; --profile runs Recon under --cpu-prof and prints
 * where its main thread spent the measured uploads.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createRun, deleteRun, uploadServerEnv } from './lib/recon-runs.ts';
import { makeFiles, multipartBody, post, readAt } from './lib/multipart-body.ts';
import { latestProfile, monotonicMicros, printSummary, summarize } from './lib/cpuprofile.ts';
import { cpuSeconds, freePort, type NodeChild, RECON_NODE_FLAGS, RssSampler, sleep, startNode, waitForHttp } from './lib/proc.ts';
import { MiB, max, median, mib, round, table } from './lib/report.ts';

const FILES = 20;
const TOTAL_BYTES = 1024 * MiB;
const FILE_BYTES = Math.floor(TOTAL_BYTES / FILES); // ~51.2 MiB
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BUCKET = 'recon-bench';
const PART_BYTES = 8 * MiB;
const PART_CONCURRENCY = 4;
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const CHECK_BYTES = 64 * 1024;
const PROFILE = process.argv.includes('--profile');

interface Measurement {
  side: 'sdk' | 'recon';
  round: number;
  seconds: number;
  mibPerSecond: number;
  rssGrowth: number;
  cpuSeconds: number;
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(', ');

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'recon-bench-s3-'));
  const children: NodeChild[] = [];
  const loadBefore = load();
  console.log(`load average before: ${loadBefore} (uptime: ${execFileSync('uptime').toString().trim()})`);
  try {
    const sourceDir = join(work, 'source');
    const s3Dir = join(work, 's3');
    const dataDir = join(work, 'recon-data');
    for (const dir of [sourceDir, s3Dir, dataDir]) mkdirSync(dir, { recursive: true });
    const sources = makeFiles(sourceDir, 'photo', FILES, FILE_BYTES);
    const body = multipartBody(sources);
    const warmBody = multipartBody(makeFiles(sourceDir, 'warm', 2, 256 * 1024));
    const warmSdkFiles = makeFiles(sourceDir, 'warm-sdk', 1, 256 * 1024);

    const s3Port = await freePort();
    const s3 = startNode(['node_modules/s3rver/bin/s3rver.js', '-d', s3Dir, '-a', '127.0.0.1', '-p', String(s3Port), '-s', '--configure-bucket', BUCKET]);
    children.push(s3);
    const endpoint = `http://127.0.0.1:${s3Port}`;
    await waitForAnswer(endpoint, s3);
    const client = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: CREDENTIALS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });

    const port = await freePort();
    const profiles = join(work, 'profiles');
    const recon = startNode([...RECON_NODE_FLAGS, ...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : []), 'src/main.ts', 'serve', '--no-workers'], {
      ...uploadServerEnv(dataDir, port),
      S3_BUCKET: BUCKET,
      S3_ENDPOINT: endpoint,
      S3_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      S3_PART_BYTES: String(PART_BYTES),
      S3_PART_CONCURRENCY: String(PART_CONCURRENCY),
    });
    children.push(recon);
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/api/health`, recon);

    const sdkUpload = async (prefix: string, files: string[]) => {
      const child = startNode(['bench/lib/sdk-upload.ts'], {
        BENCH_S3: JSON.stringify({ endpoint, bucket: BUCKET, credentials: CREDENTIALS, prefix, partBytes: PART_BYTES, partConcurrency: PART_CONCURRENCY, files }),
      });
      const cpuBefore = cpuSeconds(child.pid);
      const [, seconds] = await child.waitForLine(/^DONE ([\d.]+)$/, 600_000);
      const cpu = cpuSeconds(child.pid) - cpuBefore;
      await child.stop();
      return { seconds: Number(seconds), cpu };
    };

    // Warm-up, not measured: module loading, the first multipart upload, the first run.
    await sdkUpload('warm/', warmSdkFiles);
    const warmRun = await createRun(base);
    const warm = await post(`${base}/api/runs/${warmRun}/images`, warmBody);
    if (warm.status !== 200) throw new Error(`recon warm-up: ${warm.status} ${warm.text}`);
    await deleteRun(base, warmRun);
    await deleteKeys(client, await listKeys(client, 'warm/'));

    const measured: Measurement[] = [];
    const windows: [number, number][] = [];
    const record = (m: Measurement) => {
      measured.push(m);
      console.log(`  round ${m.round} ${m.side.padEnd(5)} ${m.seconds.toFixed(2)} s  ${m.mibPerSecond.toFixed(1)} MiB/s  cpu ${m.cpuSeconds.toFixed(2)} s${m.side === 'recon' ? `  RSS +${mib(m.rssGrowth)} MiB` : ''}`);
    };
    for (let round = 1; round <= ROUNDS; round++) {
      execFileSync('sync');
      const prefix = `sdk-${round}/`;
      const sdk = await sdkUpload(prefix, sources);
      await verify(client, prefix, sources);
      record({ side: 'sdk', round, seconds: sdk.seconds, mibPerSecond: body.payloadBytes / MiB / sdk.seconds, rssGrowth: 0, cpuSeconds: sdk.cpu });
      await deleteKeys(client, await listKeys(client, prefix));

      const runId = await createRun(base);
      execFileSync('sync');
      const cpuBefore = cpuSeconds(recon.pid);
      const sampler = new RssSampler(recon.pid, 50);
      const from = monotonicMicros();
      const result = await post(`${base}/api/runs/${runId}/images`, body);
      windows.push([from, monotonicMicros()]);
      const rss = sampler.stop();
      const cpu = cpuSeconds(recon.pid) - cpuBefore;
      if (result.status !== 200) throw new Error(`recon round ${round}: HTTP ${result.status} ${result.text.slice(0, 500)}`);
      const answer = JSON.parse(result.text) as { imagesUploaded: number; stored: { original: string; stored: string }[] };
      if (answer.imagesUploaded !== FILES) throw new Error(`recon round ${round}: ${answer.imagesUploaded} images stored, want ${FILES}`);
      const byName = new Map(answer.stored.map((s) => [s.original, s.stored]));
      await verify(client, `runs/${runId}/images/`, sources, (file) => byName.get(basename(file)) ?? '');
      record({ side: 'recon', round, seconds: result.seconds, mibPerSecond: body.payloadBytes / MiB / result.seconds, rssGrowth: rss.growth, cpuSeconds: cpu });
      await deleteRun(base, runId);
      const left = await listKeys(client, `runs/${runId}/`);
      if (left.length) throw new Error(`recon round ${round}: ${left.length} objects left after DELETE /api/runs/${runId}`);
    }
    const staging = await listKeys(client, 'staging/');
    if (staging.length) throw new Error(`${staging.length} objects left in staging/`);

    const sides = (['sdk', 'recon'] as const).map((side) => {
      const rows = measured.filter((m) => m.side === side);
      const speeds = rows.map((m) => m.mibPerSecond);
      return { side, best: max(speeds), median: median(speeds), rssGrowthMax: max(rows.map((m) => m.rssGrowth)), cpu: median(rows.map((m) => m.cpuSeconds)) };
    });
    const [sdk, rec] = sides as [(typeof sides)[0], (typeof sides)[0]];
    const ratioBest = rec.best / sdk.best;
    const ratioMedian = rec.median / sdk.median;
    const growthMB = rec.rssGrowthMax / 1e6;
    const loadAfter = load();

    console.log(`\nuploading ${mib(body.payloadBytes, 0)} MiB in ${FILES} files into s3rver, ${ROUNDS} rounds per side, parts of ${mib(PART_BYTES, 0)} MiB × ${PART_CONCURRENCY}`);
    console.log(table(['round', 'side', 'seconds', 'MiB/s', 'cpu s', 'RSS growth MiB'], measured.map((m) => [m.round, m.side, m.seconds.toFixed(2), m.mibPerSecond.toFixed(1), m.cpuSeconds.toFixed(2), m.side === 'recon' ? mib(m.rssGrowth) : '-'])));
    console.log('');
    console.log(`throughput recon/sdk: best ${ratioBest.toFixed(3)}, median ${ratioMedian.toFixed(3)}   (goal >= 0.8: ${ratioBest >= 0.8 ? 'met' : 'MISSED'})`);
    console.log(`recon peak RSS growth: ${growthMB.toFixed(1)} MB   (goal < 150 MB: ${growthMB < 150 ? 'met' : 'MISSED'})`);
    console.log(`load average: before ${loadBefore}, after ${loadAfter} (${execFileSync('nproc').toString().trim()} cores)`);
    console.log(
      JSON.stringify({
        bench: 's3-upload',
        files: FILES,
        payloadBytes: body.payloadBytes,
        rounds: ROUNDS,
        partBytes: PART_BYTES,
        partConcurrency: PART_CONCURRENCY,
        sdkMiBps: { best: round(sdk.best, 1), median: round(sdk.median, 1) },
        reconMiBps: { best: round(rec.best, 1), median: round(rec.median, 1) },
        ratio: { best: round(ratioBest), median: round(ratioMedian) },
        reconRssGrowthMB: round(growthMB, 1),
        cpuSeconds: { sdk: round(sdk.cpu, 2), recon: round(rec.cpu, 2) },
        load: { before: loadBefore, after: loadAfter },
        goals: { ratio: 0.8, rssGrowthMB: 150, ratioMet: ratioBest >= 0.8, rssMet: growthMB < 150 },
      }),
    );
    client.destroy();
    if (PROFILE) {
      await recon.stop();
      console.log(`\nRecon's main thread during the ${ROUNDS} measured uploads:`);
      printSummary(summarize(latestProfile(profiles), windows));
    }
  } finally {
    for (const child of children.reverse()) await child.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** s3rver answers (403 without credentials) once it listens. */
async function waitForAnswer(url: string, child: NodeChild) {
  for (let i = 0; i < 300; i++) {
    if (child.child.exitCode !== null) throw new Error(`s3rver exited\n${child.tail()}`);
    if (await fetch(url).then(() => true, () => false)) return;
    await sleep(100);
  }
  throw new Error(`s3rver did not answer\n${child.tail()}`);
}

async function listKeys(client: S3Client, prefix: string): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key ?? '');
}

async function deleteKeys(client: S3Client, keys: string[]) {
  if (keys.length) await client.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
}

/** Every file is in the bucket with its size, and its first and last 64 KiB as sent. */
async function verify(client: S3Client, prefix: string, files: string[], name: (file: string) => string = basename) {
  const listed = new Map((await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents?.map((o) => [o.Key, o.Size]));
  for (const file of files) {
    const key = `${prefix}${name(file)}`;
    if (listed.get(key) !== FILE_BYTES) throw new Error(`${key}: ${listed.get(key)} bytes in S3, sent ${FILE_BYTES}`);
    for (const start of [0, FILE_BYTES - CHECK_BYTES]) {
      const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: `bytes=${start}-${start + CHECK_BYTES - 1}` }));
      const stored = Buffer.from(await object.Body!.transformToByteArray());
      if (!stored.equals(readAt(file, start, CHECK_BYTES))) throw new Error(`${key}: bytes at ${start} differ from ${file}`);
    }
  }
}

await main();
