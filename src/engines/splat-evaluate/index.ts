import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InputFormat } from '@playcanvas/splat-transform';
import { z } from 'zod';
import type { ArtifactKind } from '../../domain/artifacts.ts';
import { unzipToFolder } from '../../formats/unzip-folder.ts';
import type { Evaluation } from '../../splat/index.ts';
import { type Engine, type EngineContext, EngineError } from '../engine.ts';
import { SCENE_IMAGES, SCENE_MODEL } from '../splat-scene/index.ts';

export const splatEvaluateSettings = z.object({
  holdoutEvery: z.number().int().min(0).max(1000).default(8).describe('The same hold-out as training: sorted by name, every n-th view is a test view'),
  width: z.number().int().min(16).max(4096).default(400).describe('Width the views are scored at (the training width)'),
  maxTrainViews: z.number().int().min(0).max(10_000).default(12).describe('Training views scored too (evenly chosen), to show fit beside generalisation'),
  background: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1), z.number().min(0).max(1)]).default([0, 0, 0]).describe('Colour behind the splats (as in training)'),
});
export type SplatEvaluateSettings = z.infer<typeof splatEvaluateSettings>;

/** Each artifact scored, with the splat-transform reader for it. */
const FORMATS: [ArtifactKind, InputFormat][] = [
  ['splat-ply', 'ply'],
  ['sog', 'sog'],
  ['spz', 'spz'],
  ['splat-compressed-ply', 'ply'],
];

/**
 * Quality of the trained splats and of every compressed copy: PSNR and SSIM on the held-out views
 * (never trained on) and on training views, with Gaussian counts and file sizes. Stores
 * metrics.json and the headline numbers as the stage's summary.
 */
export const splatEvaluateEngine: Engine<SplatEvaluateSettings> = {
  id: 'splat-evaluate',
  title: 'Splat evaluation',
  description: 'PSNR and SSIM of the trained splats and each compressed format, on held-out views (every 8th by name) and on training views.',
  settings: splatEvaluateSettings,
  limits: { minImages: 1, maxImages: 10_000 },
  produces: ['metrics'],
  consumes: ['splat-scene', 'splat-ply', 'sog', 'spz', 'splat-compressed-ply'],
  async check() {
    return { ok: true };
  },
  run: evaluateSplats,
};

interface FormatScore {
  bytes: number;
  gaussians: number;
  shDegree: number;
  test: Evaluation | null;
  train: Evaluation;
}

async function evaluateSplats(ctx: EngineContext<SplatEvaluateSettings>): Promise<void> {
  const s = ctx.settings;
  const sceneZip = ctx.artifacts['splat-scene'];
  if (!sceneZip || !ctx.artifacts['splat-ply']) throw new EngineError('Evaluation needs the scene and the trained splats from earlier stages');
  ctx.progress('loading', 0, 'Reading the views');
  const dir = join(ctx.workDir, 'scene');
  await unzipToFolder(sceneZip, dir);
  // The renderer and splat-transform load when a run is scored, not with the engine list at every start.
  const [{ evaluate, loadColmapScene, splitViews }, { readSplatTable, tableToCloud }] = await Promise.all([import('../../splat/index.ts'), import('../splat-tables.ts')]);
  const scene = await loadColmapScene(join(dir, SCENE_MODEL), join(dir, SCENE_IMAGES), { width: s.width });
  const { train, test } = splitViews(scene.views, s.holdoutEvery);
  const trainSample = evenly(train, s.maxTrainViews);
  const present = FORMATS.filter(([kind]) => ctx.artifacts[kind]);
  const scores: Record<string, FormatScore> = {};
  for (const [index, [kind, format]] of present.entries()) {
    ctx.signal.throwIfAborted();
    ctx.progress('scoring', index / present.length, `Scoring ${kind} on ${test.length} held-out and ${trainSample.length} training views`);
    const path = ctx.artifacts[kind]!;
    const cloud = tableToCloud(await readSplatTable(path, format));
    const options = { background: s.background };
    scores[kind] = {
      bytes: (await stat(path)).size,
      gaussians: cloud.count,
      shDegree: cloud.shDegree,
      test: test.length ? await evaluate(cloud, test, options) : null,
      train: await evaluate(cloud, trainSample, options),
    };
    const score = scores[kind]!;
    ctx.log(`${kind}: ${score.gaussians} Gaussians, ${score.bytes} bytes; held-out PSNR ${fmt(score.test?.psnr)} dB SSIM ${fmt(score.test?.ssim, 4)}; training PSNR ${fmt(score.train.psnr)} dB`);
  }
  const { width, height } = (test[0] ?? train[0])!.camera;
  const metrics = {
    holdoutEvery: s.holdoutEvery,
    width,
    height,
    views: { test: test.map((v) => v.name), train: train.map((v) => v.name), trainScored: trainSample.map((v) => v.name) },
    formats: scores,
  };
  const file = join(ctx.workDir, 'metrics.json');
  await writeFile(file, `${JSON.stringify(metrics, null, 2)}\n`);
  await ctx.putArtifact('metrics', file);
  const plyTest = scores['splat-ply']?.test?.psnr;
  await ctx.summarize({
    width,
    height,
    testViews: test.length,
    formats: Object.fromEntries(
      Object.entries(scores).map(([kind, score]) => [
        kind,
        {
          bytes: score.bytes,
          gaussians: score.gaussians,
          testPsnr: round(score.test?.psnr),
          testSsim: round(score.test?.ssim),
          trainPsnr: round(score.train.psnr),
          trainSsim: round(score.train.ssim),
          ...(kind !== 'splat-ply' && plyTest !== undefined && score.test && { testPsnrChange: round(score.test.psnr - plyTest) }),
        },
      ]),
    ),
  });
  ctx.progress('scoring', 1, 'Stored metrics.json');
}

/** At most `count` items spread evenly over `items` (all when count ≥ length). */
function evenly<T>(items: readonly T[], count: number): T[] {
  if (count >= items.length) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]!);
}

const round = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? null : Math.round(value * 1e4) / 1e4);
const fmt = (value: number | undefined, digits = 2) => (value === undefined ? '–' : value.toFixed(digits));
