import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { OutputFormat } from '@playcanvas/splat-transform';
import type { ArtifactKind } from '../../domain/artifacts.ts';
import { EngineError } from '../engine.ts';
import { readSplatTable, shBandsOf, withShBands, writeSplatTable } from '../splat-tables.ts';
import { type CleanReport, cleanRows } from './clean.ts';
import type { SplatCompressSettings } from './settings.ts';

export interface CompressedSplats {
  kind: ArtifactKind;
  path: string;
  bytes: number;
  seconds: number;
}

export interface CompressionResult {
  splats: number;
  clean: CleanReport;
  shBands: number;
  sogShBands: number;
  plyBytes: number;
  outputs: CompressedSplats[];
}

/**
 * The trained splats for the web, with @playcanvas/splat-transform on the CPU: cleaned, then SOG
 * (SH bands kept only for small scenes: its SH k-means is very slow on a CPU), SPZ, compressed PLY
 * and (optionally) a standalone HTML viewer, written under `outDir`.
 */
export async function compressSplats(ply: string, outDir: string, s: SplatCompressSettings, hooks: { signal?: AbortSignal; onWrite?: (file: string, index: number, total: number) => void } = {}): Promise<CompressionResult> {
  const table = await readSplatTable(ply, 'ply');
  const { rows, report } = cleanRows(table, s);
  if (!report.kept) throw new EngineError('Cleaning removed every splat', { hint: 'Raise hugeScale or floaterDistance, or lower minOpacity' });
  const cleaned = table.clone({ rows });
  const bands = shBandsOf(cleaned);
  const sogBands = s.sogShBands === 'auto' ? (cleaned.numRows <= s.sogShMaxSplats ? bands : 0) : Math.min(s.sogShBands, bands);
  const forSog = sogBands < bands ? await withShBands(cleaned, sogBands) : cleaned;
  const baseOnly = bands > 0 ? await withShBands(cleaned, 0) : cleaned;
  const plan: [ArtifactKind, string, OutputFormat, typeof cleaned][] = [
    ['spz', 'splat.spz', 'spz', cleaned],
    ['splat-compressed-ply', 'splat.compressed.ply', 'compressed-ply', cleaned],
    ['sog', 'scene.sog', 'sog-bundle', forSog],
    ...(s.viewer ? [['splat-viewer', 'splat-viewer.html', 'html-bundle', baseOnly] as [ArtifactKind, string, OutputFormat, typeof cleaned]] : []),
  ];
  const outputs: CompressedSplats[] = [];
  for (const [index, [kind, file, format, input]] of plan.entries()) {
    hooks.signal?.throwIfAborted();
    hooks.onWrite?.(file, index, plan.length);
    const started = performance.now();
    const path = join(outDir, file);
    const bytes = await writeSplatTable(input, format, path, { iterations: s.sogIterations });
    outputs.push({ kind, path, bytes, seconds: (performance.now() - started) / 1000 });
  }
  return { splats: table.numRows, clean: report, shBands: bands, sogShBands: sogBands, plyBytes: (await stat(ply)).size, outputs };
}
