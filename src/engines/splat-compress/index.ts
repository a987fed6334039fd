import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { OutputFormat } from '@playcanvas/splat-transform';
import type { ArtifactKind } from '../../domain/artifacts.ts';
import { type Engine, type EngineContext, EngineError } from '../engine.ts';
import { readSplatTable, shBandsOf, withShBands, writeSplatTable } from '../splat-tables.ts';
import { cleanRows } from './clean.ts';
import { type SplatCompressSettings, splatCompressSettings } from './settings.ts';

export { splatCompressSettings } from './settings.ts';

/**
 * Web delivery of the trained splats with @playcanvas/splat-transform (as a library, on the CPU):
 * cleaned of non-finite, huge, far-floating and invisible splats, then written as SOG, SPZ and
 * compressed PLY, plus a standalone HTML viewer page.
 */
export const splatCompressEngine: Engine<SplatCompressSettings> = {
  id: 'splat-compress',
  title: 'Splat compression',
  description: 'Cleans the trained splats and writes them for the web: SOG (PlayCanvas), SPZ (Niantic), compressed PLY and a standalone HTML viewer. CPU only.',
  settings: splatCompressSettings,
  limits: { minImages: 1, maxImages: 10_000 },
  produces: ['sog', 'spz', 'splat-compressed-ply', 'splat-viewer'],
  consumes: ['splat-ply'],
  async check() {
    return { ok: true };
  },
  run: compress,
};

async function compress(ctx: EngineContext<SplatCompressSettings>): Promise<void> {
  const ply = ctx.artifacts['splat-ply'];
  if (!ply) throw new EngineError('No trained splats (splat.ply) from an earlier stage', { hint: 'The train stage must run before compression' });
  const s = ctx.settings;
  ctx.progress('cleaning', 0, 'Reading the trained splats');
  const table = await readSplatTable(ply, 'ply');
  const { rows, report } = cleanRows(table, s);
  ctx.log(
    `cleaning kept ${report.kept} of ${table.numRows} splats: removed ${report.nonFinite} non-finite, ${report.huge} huge (> ${s.hugeScale} × radius ${report.radius.toPrecision(3)}), ${report.floaters} floaters, ${report.transparent} transparent`,
  );
  if (!report.kept) throw new EngineError('Cleaning removed every splat', { hint: 'Raise hugeScale or floaterDistance, or lower minOpacity' });
  const cleaned = table.clone({ rows });
  const bands = shBandsOf(cleaned);
  const sogBands = s.sogShBands === 'auto' ? (cleaned.numRows <= s.sogShMaxSplats ? bands : 0) : Math.min(s.sogShBands, bands);
  if (sogBands < bands) ctx.log(`SOG keeps SH bands up to ${sogBands} of ${bands}: its SH clustering is too slow on a CPU for ${cleaned.numRows} splats (sogShBands, sogShMaxSplats)`);
  const stripped = sogBands < bands ? await withShBands(cleaned, sogBands) : cleaned;
  const baseOnly = bands > 0 ? await withShBands(cleaned, 0) : cleaned;

  const outputs: [ArtifactKind, string, OutputFormat, typeof cleaned][] = [
    ['spz', 'splat.spz', 'spz', cleaned],
    ['splat-compressed-ply', 'splat.compressed.ply', 'compressed-ply', cleaned],
    ['sog', 'scene.sog', 'sog-bundle', stripped],
    ...(s.viewer ? [['splat-viewer', 'splat-viewer.html', 'html-bundle', baseOnly] as [ArtifactKind, string, OutputFormat, typeof cleaned]] : []),
  ];
  const bytes: Record<string, number> = { ply: (await stat(ply)).size };
  for (const [index, [kind, file, format, input]] of outputs.entries()) {
    ctx.signal.throwIfAborted();
    ctx.progress('writing', index / outputs.length, `Writing ${file}`);
    const started = performance.now();
    const path = join(ctx.workDir, file);
    bytes[kind] = await writeSplatTable(input, format, path, { iterations: s.sogIterations });
    ctx.log(`${file}: ${bytes[kind]} bytes (${((bytes.ply! / bytes[kind]!) || 0).toFixed(1)}× smaller than the PLY) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await ctx.putArtifact(kind, path);
  }
  ctx.progress('writing', 1, 'Stored the compressed splats');
  await ctx.summarize({ splats: table.numRows, kept: report.kept, removed: { nonFinite: report.nonFinite, huge: report.huge, floaters: report.floaters, transparent: report.transparent }, shBands: bands, sogShBands: sogBands, bytes });
}
