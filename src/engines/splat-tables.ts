import { readFile, writeFile } from 'node:fs/promises';
import {
  type DataTable,
  type InputFormat,
  logger,
  MemoryFileSystem,
  MemoryReadFileSystem,
  type OutputFormat,
  processDataTable,
  readFile as readSplats,
  writeFile as writeSplats,
} from '@playcanvas/splat-transform';
import type { GaussianCloud } from '../splat/index.ts';

let quiet = false;
/** splat-transform logs through one process-wide logger; engines write their own log lines instead. */
function silenceLibrary() {
  if (quiet) return;
  logger.setRenderer({ handle: () => {} });
  quiet = true;
}

/** Reads a splat file (PLY, compressed PLY, SOG, SPZ…) with @playcanvas/splat-transform. */
export async function readSplatTable(path: string, format: InputFormat): Promise<DataTable> {
  silenceLibrary();
  const fileSystem = new MemoryReadFileSystem();
  const name = `input.${format}`;
  fileSystem.set(name, new Uint8Array(await readFile(path)));
  const [table] = await readSplats({ filename: name, inputFormat: format, options: { iterations: 10, lodSelect: [], unbundled: false, lodChunkCount: 512, lodChunkExtent: 16 }, params: [], fileSystem });
  if (!table) throw new Error(`${path}: no splats in the file`);
  return table;
}

/**
 * Writes `table` as `format` to `path` (built in memory, then written whole). SPZ is written as
 * version 3 (gzip), the version every SPZ reader knows (Spark's included).
 */
export async function writeSplatTable(table: DataTable, format: OutputFormat, path: string, options: { iterations?: number } = {}): Promise<number> {
  silenceLibrary();
  const fileSystem = new MemoryFileSystem();
  const name = path.slice(path.lastIndexOf('/') + 1);
  await writeSplats(
    { filename: name, outputFormat: format, dataTable: table, options: { iterations: options.iterations ?? 10, lodSelect: [], unbundled: false, lodChunkCount: 512, lodChunkExtent: 16, spzVersion: 3 } },
    fileSystem,
  );
  const bytes = fileSystem.results.get(name);
  if (!bytes) throw new Error(`splat-transform wrote no ${name}`);
  await writeFile(path, bytes);
  return bytes.length;
}

/** The highest SH band the table holds (0 when only the base colour). */
export function shBandsOf(table: DataTable): number {
  let rest = 0;
  while (table.hasColumn(`f_rest_${rest}`)) rest++;
  return Math.max(0, [0, 9, 24, 45].indexOf(rest));
}

/** The table with SH bands above `bands` removed. */
export function withShBands(table: DataTable, bands: number): Promise<DataTable> {
  return processDataTable(table, [{ kind: 'filterBands', value: Math.max(0, Math.min(3, bands)) as 0 | 1 | 2 | 3 }]);
}

/**
 * A table in the 3DGS PLY's raw parameters as a GaussianCloud for the splat renderer: f_rest is
 * channel-major in the file and coefficient-major (RGB innermost) in the cloud.
 */
export function tableToCloud(table: DataTable): GaussianCloud {
  const count = table.numRows;
  const shDegree = shBandsOf(table);
  const k = (shDegree + 1) ** 2 - 1;
  const col = (name: string) => {
    const column = table.getColumnByName(name);
    if (!column) throw new Error(`the splats have no "${name}" column`);
    return column.data;
  };
  const interleave = (names: string[]) => {
    const columns = names.map(col);
    const out = new Float32Array(count * names.length);
    for (let i = 0; i < count; i++) for (let c = 0; c < names.length; c++) out[i * names.length + c] = columns[c]![i]!;
    return out;
  };
  const shN = new Float32Array(count * k * 3);
  const rest = Array.from({ length: 3 * k }, (_, i) => col(`f_rest_${i}`));
  for (let i = 0; i < count; i++) for (let j = 0; j < k; j++) for (let c = 0; c < 3; c++) shN[(i * k + j) * 3 + c] = rest[c * k + j]![i]!;
  return {
    count,
    shDegree,
    means: interleave(['x', 'y', 'z']),
    logScales: interleave(['scale_0', 'scale_1', 'scale_2']),
    quats: interleave(['rot_0', 'rot_1', 'rot_2', 'rot_3']),
    opacities: Float32Array.from(col('opacity')),
    sh0: interleave(['f_dc_0', 'f_dc_1', 'f_dc_2']),
    shN,
  };
}
