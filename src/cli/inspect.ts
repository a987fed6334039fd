import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { readColmapModel } from '../formats/colmap-model.ts';
import { summarizeGlb } from '../formats/glb-summary.ts';
import { readNpz } from '../formats/npz.ts';
import { parseCommand } from './args.ts';
import { HELP, printHelp } from './usage.ts';

const round = (v: number) => Math.round(v * 1000) / 1000;

/** A summary of an .npz, a .glb or a COLMAP sparse model folder, as text lines or an object. */
export async function inspectFile(path: string): Promise<{ kind: string; summary: Record<string, unknown> }> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new Error(`${path} does not exist`);
  if (info.isDirectory()) return { kind: 'colmap model', summary: await inspectColmap(path) };
  switch (extname(path).toLowerCase()) {
    case '.npz':
      return { kind: 'npz', summary: await inspectNpz(path) };
    case '.glb':
      return { kind: 'glb', summary: { bytes: info.size, ...(await summarizeGlb(await readFile(path))) } };
    default:
      throw new Error(`Cannot inspect ${path}: expected an .npz, a .glb or a COLMAP model folder`);
  }
}

async function inspectNpz(path: string) {
  const npz = await readNpz(path);
  try {
    const members = Object.fromEntries(
      npz.members.map((m) => [m.name, m.pickled ? 'object array (pickled; not loaded)' : `${m.dtype} ${JSON.stringify(m.shape)}`]),
    );
    const frames = npz.members.find((m) => m.name === 'extrinsic')?.shape[0];
    return { members, ...(frames !== undefined && { cameras: frames }) };
  } finally {
    await npz.close();
  }
}

async function inspectColmap(dir: string) {
  const model = await readColmapModel(dir);
  const points = [...model.points3D.values()];
  const observations = points.reduce((sum, p) => sum + p.track.length, 0);
  return {
    cameras: [...model.cameras.values()].map((c) => `${c.id}: ${c.model} ${c.width}×${c.height} [${c.params.map(round).join(', ')}]`),
    images: model.images.size,
    points: points.length,
    meanTrackLength: points.length ? round(observations / points.length) : 0,
    meanReprojectionError: points.length ? round(points.reduce((s, p) => s + p.error, 0) / points.length) : 0,
  };
}

export function printSummary(path: string, result: { kind: string; summary: Record<string, unknown> }) {
  console.log(`${path} (${result.kind})`);
  for (const [key, value] of Object.entries(result.summary)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      console.log(`  ${key}:`);
      for (const [k, v] of Object.entries(value)) console.log(`    ${k.padEnd(26)} ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    } else if (Array.isArray(value)) {
      console.log(`  ${key}:`);
      for (const v of value) console.log(`    ${v}`);
    } else {
      console.log(`  ${key.padEnd(28)} ${value}`);
    }
  }
}

/** `recon inspect <file>` */
export async function inspectCommand(args: string[]): Promise<number> {
  const { values, positionals, help } = parseCommand('inspect', args, { json: { type: 'boolean' } }, HELP.inspect, { min: 1, max: 1 });
  if (help) return printHelp(HELP.inspect);
  const path = positionals[0]!;
  let result: Awaited<ReturnType<typeof inspectFile>>;
  try {
    result = await inspectFile(path);
  } catch (error) {
    console.error(`recon: ${(error as Error).message}`);
    return 1;
  }
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else printSummary(path, result);
  return 0;
}
