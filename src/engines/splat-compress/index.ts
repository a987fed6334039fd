import { type Engine, type EngineContext, EngineError } from '../engine.ts';
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
  ctx.progress('cleaning', 0, 'Reading and cleaning the trained splats');
  // Loaded here, not with the engine list: splat-transform (and PlayCanvas under it) is half a
  // second and 24 MB of heap that every server start paid for.
  const { compressSplats } = await import('./compress.ts');
  const result = await compressSplats(ply, ctx.workDir, s, { signal: ctx.signal, onWrite: (file, index, total) => ctx.progress('writing', index / total, `Writing ${file}`) });
  const { clean } = result;
  ctx.log(
    `cleaning kept ${clean.kept} of ${result.splats} splats: removed ${clean.nonFinite} non-finite, ${clean.huge} huge (> ${s.hugeScale} × radius ${clean.radius.toPrecision(3)}), ${clean.floaters} floaters, ${clean.transparent} transparent`,
  );
  if (result.sogShBands < result.shBands) {
    ctx.log(`SOG keeps SH bands up to ${result.sogShBands} of ${result.shBands}: its SH clustering is too slow on a CPU for ${clean.kept} splats (sogShBands, sogShMaxSplats)`);
  }
  const bytes: Record<string, number> = { ply: result.plyBytes };
  for (const output of result.outputs) {
    ctx.log(`${output.path.slice(output.path.lastIndexOf('/') + 1)}: ${output.bytes} bytes (${(result.plyBytes / output.bytes).toFixed(1)}× smaller than the PLY) in ${output.seconds.toFixed(1)} s`);
    await ctx.putArtifact(output.kind, output.path);
    bytes[output.kind] = output.bytes;
  }
  ctx.progress('writing', 1, 'Stored the compressed splats');
  await ctx.summarize({ splats: result.splats, kept: clean.kept, removed: { nonFinite: clean.nonFinite, huge: clean.huge, floaters: clean.floaters, transparent: clean.transparent }, shBands: result.shBands, sogShBands: result.sogShBands, bytes });
}
