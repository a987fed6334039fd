import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readSplatPly, splatPlyProperties, writeSplatPly } from '../../src/formats/splat-ply.ts';
import { randomCloud } from '../splat/fixtures.ts';

const dir = await mkdtemp(join(tmpdir(), 'splat-ply-'));
after(() => rm(dir, { recursive: true, force: true }));

test('a splat PLY reads back exactly what was written', async () => {
  const cloud = randomCloud(37, 2, { shDegree: 3 });
  const path = join(dir, 'round-trip.ply');
  await writeSplatPly(path, cloud);
  const back = await readSplatPly(path);
  assert.equal(back.count, 37);
  assert.equal(back.shDegree, 3);
  for (const key of ['means', 'logScales', 'quats', 'opacities', 'sh0', 'shN'] as const) assert.deepEqual(back[key], cloud[key], key);
});

/**
 * An independent reading of the file, by the layout every 3DGS viewer assumes: the header
 * lists exactly x y z nx ny nz f_dc_0..2 f_rest_0..44 opacity scale_0..2 rot_0..3 as float,
 * and f_rest is channel-major (f_rest_0..14 red, 15..29 green, 30..44 blue).
 */
test('the PLY header and field layout are the standard 3DGS ones', async () => {
  const cloud = randomCloud(3, 4, { shDegree: 3 });
  const path = join(dir, 'layout.ply');
  await writeSplatPly(path, cloud);
  const bytes = await readFile(path);
  const end = bytes.indexOf('end_header\n') + 'end_header\n'.length;
  const lines = bytes.subarray(0, end).toString('latin1').trim().split('\n');
  const expected = ['x', 'y', 'z', 'nx', 'ny', 'nz', 'f_dc_0', 'f_dc_1', 'f_dc_2'];
  for (let i = 0; i < 45; i++) expected.push(`f_rest_${i}`);
  expected.push('opacity', 'scale_0', 'scale_1', 'scale_2', 'rot_0', 'rot_1', 'rot_2', 'rot_3');
  assert.deepEqual(lines.slice(0, 3), ['ply', 'format binary_little_endian 1.0', 'element vertex 3']);
  assert.deepEqual(lines.slice(3, -1), expected.map((name) => `property float ${name}`));
  assert.equal(lines.at(-1), 'end_header');
  assert.deepEqual(splatPlyProperties(3), expected);
  assert.equal(bytes.length, end + 3 * 62 * 4);

  const field = (vertex: number, name: string) => bytes.readFloatLE(end + (vertex * 62 + expected.indexOf(name)) * 4);
  const f32 = (v: number) => Math.fround(v);
  const v = 2;
  assert.equal(field(v, 'y'), f32(cloud.means[3 * v + 1]!));
  assert.equal(field(v, 'nx'), 0);
  assert.equal(field(v, 'f_dc_2'), f32(cloud.sh0[3 * v + 2]!));
  // Coefficient 4 (of 15) of green is f_rest_{15 + 4}; ours stores it at (v·15 + 4)·3 + 1.
  assert.equal(field(v, 'f_rest_19'), f32(cloud.shN[(v * 15 + 4) * 3 + 1]!));
  assert.equal(field(v, 'f_rest_44'), f32(cloud.shN[(v * 15 + 14) * 3 + 2]!));
  assert.equal(field(v, 'opacity'), f32(cloud.opacities[v]!));
  assert.equal(field(v, 'scale_1'), f32(cloud.logScales[3 * v + 1]!));
  assert.equal(field(v, 'rot_0'), f32(cloud.quats[4 * v]!));
});

test('a PLY without the splat properties is refused with the missing name', async () => {
  const path = join(dir, 'points.ply');
  const { writePointsPly } = await import('../../src/formats/ply.ts');
  await writePointsPly(path, { positions: new Float32Array(3), colors: new Uint8Array(3) });
  await assert.rejects(readSplatPly(path), /uchar|f_dc_0/);
});
