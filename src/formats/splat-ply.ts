import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { readPlyHeader } from './ply.ts';

/**
 * 3D Gaussians in the raw (pre-activation) parameters of the standard 3DGS PLY: log-scales,
 * opacity logits, unnormalised wxyz quaternions, SH DC, and the higher SH coefficients
 * coefficient-major with RGB innermost ((degree+1)²−1 triples per Gaussian).
 */
export interface GaussianSplats {
  count: number;
  shDegree: number;
  means: ArrayLike<number>;
  logScales: ArrayLike<number>;
  quats: ArrayLike<number>;
  opacities: ArrayLike<number>;
  sh0: ArrayLike<number>;
  shN: ArrayLike<number>;
}

export interface ReadGaussianSplats extends GaussianSplats {
  means: Float32Array;
  logScales: Float32Array;
  quats: Float32Array;
  opacities: Float32Array;
  sh0: Float32Array;
  shN: Float32Array;
}

const CHUNK = 1 << 14;
const restCoefficients = (degree: number) => (degree + 1) ** 2 - 1;

/**
 * The property names, in the order Inria's exporter writes them: f_rest is channel-major
 * (all red coefficients, then green, then blue), which every splat viewer expects.
 */
export function splatPlyProperties(shDegree: number): string[] {
  const rest = restCoefficients(shDegree) * 3;
  return [
    'x', 'y', 'z', 'nx', 'ny', 'nz',
    'f_dc_0', 'f_dc_1', 'f_dc_2',
    ...Array.from({ length: rest }, (_, i) => `f_rest_${i}`),
    'opacity', 'scale_0', 'scale_1', 'scale_2', 'rot_0', 'rot_1', 'rot_2', 'rot_3',
  ];
}

/** Writes the standard 3DGS PLY (binary little-endian float32); readers never see a partial file. */
export async function writeSplatPly(path: string, splats: GaussianSplats): Promise<void> {
  const { count, shDegree } = splats;
  const names = splatPlyProperties(shDegree);
  const k = restCoefficients(shDegree);
  const expect = (name: keyof GaussianSplats, width: number) => {
    const length = (splats[name] as ArrayLike<number>).length;
    if (length < count * width) throw new Error(`${name} has ${length} values, ${count} Gaussians need ${count * width}`);
  };
  expect('means', 3);
  expect('logScales', 3);
  expect('quats', 4);
  expect('opacities', 1);
  expect('sh0', 3);
  expect('shN', 3 * k);
  const header = ['ply', 'format binary_little_endian 1.0', `element vertex ${count}`, ...names.map((n) => `property float ${n}`), 'end_header', ''].join('\n');
  const stride = names.length;
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const file = await open(temporary, 'w');
  try {
    await file.write(header);
    const row = new Float32Array(Math.min(Math.max(count, 1), CHUNK) * stride);
    for (let start = 0; start < count; start += CHUNK) {
      const end = Math.min(count, start + CHUNK);
      row.fill(0);
      for (let i = start; i < end; i++) {
        const o = (i - start) * stride;
        for (let c = 0; c < 3; c++) {
          row[o + c] = splats.means[3 * i + c]!;
          row[o + 6 + c] = splats.sh0[3 * i + c]!;
          row[o + 10 + 3 * k + c] = splats.logScales[3 * i + c]!;
          for (let j = 0; j < k; j++) row[o + 9 + c * k + j] = splats.shN[(i * k + j) * 3 + c]!;
        }
        row[o + 9 + 3 * k] = splats.opacities[i]!;
        for (let c = 0; c < 4; c++) row[o + 13 + 3 * k + c] = splats.quats[4 * i + c]!;
      }
      const bytes = new Uint8Array(row.buffer, 0, (end - start) * stride * 4);
      await file.write(littleEndian(bytes));
    }
    await file.close();
    await rename(temporary, path);
  } catch (error) {
    await file.close().catch(() => {});
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Reads a 3DGS PLY (float properties in any order; extra properties are ignored). */
export async function readSplatPly(path: string): Promise<ReadGaussianSplats> {
  const header = await readPlyHeader(path);
  if (header.format !== 'binary_little_endian 1.0') throw new Error(`${path}: format "${header.format}"; only binary_little_endian 1.0 splat PLYs are read`);
  const index = new Map<string, number>();
  header.properties.forEach((p, i) => {
    if (p.type !== 'float' && p.type !== 'float32') throw new Error(`${path}: property ${p.name} is ${p.type}; a 3DGS PLY stores float32`);
    index.set(p.name, i);
  });
  let rest = 0;
  while (index.has(`f_rest_${rest}`)) rest++;
  const degree = [0, 9, 24, 45].indexOf(rest);
  if (degree < 0) throw new Error(`${path}: ${rest} f_rest properties; expected 0, 9, 24 or 45 (SH degree 0–3)`);
  const column = (name: string) => {
    const at = index.get(name);
    if (at === undefined) throw new Error(`${path}: no "${name}" property; not a 3DGS splat PLY`);
    return at;
  };
  const count = header.vertexCount;
  const stride = header.properties.length;
  const k = restCoefficients(degree);
  const out: ReadGaussianSplats = {
    count,
    shDegree: degree,
    means: new Float32Array(count * 3),
    logScales: new Float32Array(count * 3),
    quats: new Float32Array(count * 4),
    opacities: new Float32Array(count),
    sh0: new Float32Array(count * 3),
    shN: new Float32Array(count * k * 3),
  };
  const cols = {
    xyz: ['x', 'y', 'z'].map(column),
    dc: ['f_dc_0', 'f_dc_1', 'f_dc_2'].map(column),
    scale: ['scale_0', 'scale_1', 'scale_2'].map(column),
    rot: ['rot_0', 'rot_1', 'rot_2', 'rot_3'].map(column),
    opacity: column('opacity'),
    rest: Array.from({ length: 3 * k }, (_, i) => column(`f_rest_${i}`)),
  };
  const file = await open(path, 'r');
  try {
    const chunkBytes = CHUNK * stride * 4;
    const buffer = Buffer.alloc(chunkBytes);
    for (let start = 0; start < count; start += CHUNK) {
      const end = Math.min(count, start + CHUNK);
      const want = (end - start) * stride * 4;
      const { bytesRead } = await file.read(buffer, 0, want, header.dataOffset + start * stride * 4);
      if (bytesRead < want) throw new Error(`${path}: truncated: ${count} vertices declared, data ends after ${start + Math.floor(bytesRead / (stride * 4))}`);
      const view = new DataView(buffer.buffer, buffer.byteOffset, want);
      const f = (i: number, col: number) => view.getFloat32(((i - start) * stride + col) * 4, true);
      for (let i = start; i < end; i++) {
        for (let c = 0; c < 3; c++) {
          out.means[3 * i + c] = f(i, cols.xyz[c]!);
          out.sh0[3 * i + c] = f(i, cols.dc[c]!);
          out.logScales[3 * i + c] = f(i, cols.scale[c]!);
          for (let j = 0; j < k; j++) out.shN[(i * k + j) * 3 + c] = f(i, cols.rest[c * k + j]!);
        }
        for (let c = 0; c < 4; c++) out.quats[4 * i + c] = f(i, cols.rot[c]!);
        out.opacities[i] = f(i, cols.opacity);
      }
    }
  } finally {
    await file.close();
  }
  return out;
}

/** Float32 bytes as little-endian (a copy only on big-endian hosts). */
function littleEndian(bytes: Uint8Array): Uint8Array {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return bytes;
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i += 4) out.subarray(i, i + 4).reverse();
  return out;
}
