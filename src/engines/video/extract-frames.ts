import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { VideoSettings } from '../../domain/base-settings.ts';
import { runProcess } from '../colmap/spawn.ts';
import { EngineError } from '../engine.ts';
import { laplacianVariance } from './sharpness.ts';

/** Candidate frames decoded per frame kept: the sharpest of each window of this many wins. */
const CANDIDATES_PER_FRAME = 4;
const TAIL_LINES = 20;

export interface FrameExtractionOptions {
  ffmpeg?: string;
  ffprobe?: string;
  signal: AbortSignal;
  log(line: string): void;
  progress(fraction: number, message: string): void;
}

export const probeArgs = (video: string) => ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=noprint_wrappers=1:nokey=1', video];

/** Decodes `fps` frames a second, scaled to at most `maxWidth` (even sizes), as high-quality JPEGs. */
export const decodeArgs = (video: string, fps: number, maxWidth: number, pattern: string) => [
  '-nostdin', '-hide_banner', '-loglevel', 'error', '-y',
  '-i', video,
  '-vf', `fps=${fps.toFixed(6)},scale='min(${maxWidth},iw)':-2`,
  '-q:v', '2',
  pattern,
];

/** How many frames to keep: `videoFps` × duration when set, else `videoFrames`. */
export function framesWanted(settings: VideoSettings, durationSeconds: number): number {
  return Math.max(2, Math.min(2000, settings.videoFps ? Math.ceil(durationSeconds * settings.videoFps) : settings.videoFrames));
}

/** The sharpest candidate of each of `count` consecutive, equal windows (by index). */
export function sharpestPerWindow(scores: readonly number[], count: number): number[] {
  const windows = Math.min(count, scores.length);
  const picks: number[] = [];
  for (let w = 0; w < windows; w++) {
    const start = Math.floor((w * scores.length) / windows);
    const end = Math.floor(((w + 1) * scores.length) / windows);
    let best = start;
    for (let i = start + 1; i < end; i++) if (scores[i]! > scores[best]!) best = i;
    picks.push(best);
  }
  return picks;
}

/**
 * Frames of a video with Debian's ffmpeg: decodes a few candidates for each frame wanted, keeps
 * the sharpest of each window (variance of the Laplacian, so motion-blurred frames lose), and
 * names them `<prefix>-f0001.jpg`, … in time order under `outDir`.
 */
export async function extractFrames(video: string, outDir: string, prefix: string, settings: VideoSettings, options: FrameExtractionOptions): Promise<string[]> {
  const ffmpeg = options.ffmpeg ?? process.env.FFMPEG_BIN ?? 'ffmpeg';
  const ffprobe = options.ffprobe ?? process.env.FFPROBE_BIN ?? 'ffprobe';
  const duration = Number((await run(ffprobe, probeArgs(video), options)).trim().split('\n').at(-1));
  if (!(duration > 0)) throw new EngineError(`ffprobe found no duration in the video ${prefix}: it may be damaged`, { hint: 'Re-export it as MP4 (H.264) and upload it again' });
  const wanted = framesWanted(settings, duration);
  const candidates = join(outDir, `${prefix}.candidates`);
  await rm(candidates, { recursive: true, force: true });
  await mkdir(candidates, { recursive: true });
  options.progress(0, `Decoding ${prefix} (${duration.toFixed(1)} s)`);
  await run(ffmpeg, decodeArgs(video, (wanted * CANDIDATES_PER_FRAME) / duration, settings.videoMaxWidth, join(candidates, 'c%06d.jpg')), options);
  const decoded = (await readdir(candidates)).filter((n) => n.endsWith('.jpg')).sort();
  if (!decoded.length) throw new EngineError(`ffmpeg decoded no frames from ${prefix}`, { hint: 'The video may have no video stream; re-export it as MP4 (H.264)' });
  const scores: number[] = [];
  for (const [index, name] of decoded.entries()) {
    options.signal.throwIfAborted();
    scores.push(await laplacianVariance(join(candidates, name)));
    if (index % 10 === 0) options.progress((index + 1) / decoded.length, `Scoring sharpness of frame ${index + 1} of ${decoded.length}`);
  }
  const picks = sharpestPerWindow(scores, wanted);
  const frames: string[] = [];
  for (const [n, pick] of picks.entries()) {
    const frame = join(outDir, `${prefix}-f${String(n + 1).padStart(4, '0')}.jpg`);
    await rename(join(candidates, decoded[pick]!), frame);
    frames.push(frame);
  }
  await rm(candidates, { recursive: true, force: true });
  options.log(`${prefix}: ${duration.toFixed(1)} s of video → kept the sharpest of ${decoded.length} decoded frames in each of ${frames.length} windows`);
  return frames;
}

async function run(binary: string, args: string[], options: FrameExtractionOptions): Promise<string> {
  let output = '';
  const tail: string[] = [];
  options.log(`$ ${binary} ${args.join(' ')}`);
  const result = await runProcess(binary, args, {
    signal: options.signal,
    onLine: (line) => {
      output += `${line}\n`;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    },
  }).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'ENOENT'
      ? new EngineError(`${binary} is not installed; videos need ffmpeg`, { hint: 'Install it with apt-get install ffmpeg (scripts/setup.sh does), or set FFMPEG_BIN / FFPROBE_BIN' })
      : error;
  });
  options.signal.throwIfAborted();
  if (result.code !== 0) throw new EngineError(`${binary} exited with code ${result.code ?? result.signal}: ${tail.at(-1) ?? 'no output'}`, { hint: 'The video may be damaged or in a codec ffmpeg cannot decode; re-export it as MP4 (H.264)' });
  return output;
}
