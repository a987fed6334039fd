import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { InputFormat } from '@playcanvas/splat-transform';
import { compressSplats } from '../../src/engines/splat-compress/compress.ts';
import { splatCompressSettings } from '../../src/engines/splat-compress/settings.ts';
import { readSplatTable, tableToCloud } from '../../src/engines/splat-tables.ts';
import type { GaussianCloud } from '../../src/splat/index.ts';
import { round } from './report.ts';

/** Issue #11's goals for the web formats, against the trained PLY. */
export const COMPRESSION_GOALS = { sogBytesFraction: 1 / 10, sogHeldOutDrop: 1.5, spzHeldOutDrop: 0.5 };

const READERS: Record<string, [label: string, format: InputFormat]> = {
  sog: ['SOG', 'sog'],
  spz: ['SPZ', 'spz'],
  'splat-compressed-ply': ['compressed PLY', 'ply'],
};

export interface CompressedForm {
  label: string;
  kind: string;
  cloud: GaussianCloud;
  bytes: number;
  seconds: number;
}

/**
 * The trained PLY through the pipeline's compress stage (the same code, default settings: cleaning,
 * SOG with SH stripped for scenes too large for CPU k-means, SPZ, compressed PLY), each read back
 * with splat-transform as a viewer would: what the bench scores beside the PLY.
 */
export async function compressedForms(ply: string, workDir: string): Promise<{ forms: CompressedForm[]; notes: string[] }> {
  await mkdir(workDir, { recursive: true });
  const result = await compressSplats(ply, workDir, splatCompressSettings.parse({ viewer: false }));
  const forms: CompressedForm[] = [];
  for (const output of result.outputs) {
    const reader = READERS[output.kind];
    if (!reader) continue;
    forms.push({ label: reader[0], kind: output.kind, cloud: tableToCloud(await readSplatTable(output.path, reader[1])), bytes: output.bytes, seconds: output.seconds });
  }
  const { clean } = result;
  const notes = [
    `cleaning kept ${clean.kept} of ${result.splats} splats (${clean.huge} huge, ${clean.floaters} floaters, ${clean.transparent} transparent, ${clean.nonFinite} non-finite removed); SOG keeps SH bands up to ${result.sogShBands} of ${result.shBands}`,
    `written in ${forms.map((f) => `${f.label} ${round(f.seconds, 1)} s`).join(', ')}`,
  ];
  return { forms, notes: [...notes, `(files in ${join(workDir)})`] };
}

/** The goal lines: SOG ≤ 1/10 of the PLY's bytes and within 1.5 dB held-out; SPZ within 0.5 dB. */
export function compressionGoalLines(ply: { bytes: number; heldOutPsnr: number }, forms: { kind: string; bytes: number; heldOutPsnr: number }[]): string[] {
  const check = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const lines: string[] = [];
  const sog = forms.find((f) => f.kind === 'sog');
  const spz = forms.find((f) => f.kind === 'spz');
  if (sog) {
    const fraction = sog.bytes / ply.bytes;
    lines.push(`goal SOG ≤ 1/10 of the PLY's bytes: ${sog.bytes} of ${ply.bytes} (1/${round(1 / fraction, 1)}) → ${check(fraction <= COMPRESSION_GOALS.sogBytesFraction)}`);
    const drop = ply.heldOutPsnr - sog.heldOutPsnr;
    lines.push(`goal SOG held-out PSNR within ${COMPRESSION_GOALS.sogHeldOutDrop} dB of the PLY's: ${round(sog.heldOutPsnr, 2)} vs ${round(ply.heldOutPsnr, 2)} (${round(-drop, 2)} dB) → ${check(drop <= COMPRESSION_GOALS.sogHeldOutDrop)}`);
  }
  if (spz) {
    const drop = ply.heldOutPsnr - spz.heldOutPsnr;
    lines.push(`goal SPZ held-out PSNR within ${COMPRESSION_GOALS.spzHeldOutDrop} dB of the PLY's: ${round(spz.heldOutPsnr, 2)} vs ${round(ply.heldOutPsnr, 2)} (${round(-drop, 2)} dB) → ${check(drop <= COMPRESSION_GOALS.spzHeldOutDrop)}`);
  }
  return lines;
}
