import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeNpy, encodeNpyParts, type NdArray } from '../../src/formats/npy.ts';
import { readNpz, writeNpz } from '../../src/formats/npz.ts';
import { ZipWriter, zipFolder } from '../../src/formats/zip.ts';

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'recon-numpy-crosscheck-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function python<T>(script: string, ...args: string[]): T {
  return JSON.parse(execFileSync('python3', ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 })) as T;
}

/** What numpy holds for one array, in the same normalised form as our NdArray. */
interface Described {
  dtype: string;
  shape: number[];
  fortran: boolean;
  /** Strings for text, else base64 of the items in file order, little-endian, f2 widened to f4. */
  values: string | string[];
}

const DESCRIBE = `
import base64
import numpy as np
def describe(a):
    fortran = bool(a.flags.f_contiguous and not a.flags.c_contiguous)
    flat = a.ravel(order='F' if fortran else 'C')
    if a.dtype.kind == 'U':
        values = flat.tolist()
    else:
        if a.dtype.kind == 'f' and a.itemsize == 2:
            flat = flat.astype('<f4')
        elif a.dtype.kind == 'b':
            flat = flat.astype(np.uint8)
        else:
            flat = flat.astype(flat.dtype.newbyteorder('<'))
        values = base64.b64encode(flat.tobytes()).decode()
    return {'dtype': a.dtype.str, 'shape': list(a.shape), 'fortran': fortran, 'values': values}
`;

function describe_(array: NdArray): Described {
  const data = array.data;
  const values = Array.isArray(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  return { dtype: array.dtype, shape: array.shape, fortran: array.fortranOrder, values };
}

describe('numpy-written files', { skip: !hasNumpy && 'python3 with numpy is not available' }, () => {
  const GENERATE = `${DESCRIBE}
import json, sys
out = sys.argv[1]
rng = np.random.default_rng(20240611)
arrays = {
    'f4': rng.standard_normal((3, 4, 5), dtype=np.float32),
    'f8_big': rng.standard_normal((4, 3)).astype('>f8'),
    'f2': rng.standard_normal(17).astype(np.float16),
    'text': np.array(['a', 'héllo', 'ünïcode', '🙂', ''], dtype='<U7'),
    'text_big': np.array(['big', 'endian'], dtype='>U9'),
    'mask': rng.random((2, 5)) > 0.5,
    'i8_fortran': np.asfortranarray(rng.integers(-2**62, 2**62, size=(3, 4), dtype=np.int64)),
    'u4_fortran': np.asfortranarray(rng.integers(0, 2**32 - 1, size=(2, 3, 4), dtype=np.uint32)),
    'i1': rng.integers(-128, 127, size=9, dtype=np.int8),
    'i2_big': rng.integers(-2**15, 2**15 - 1, size=7, dtype=np.int16).astype('>i2'),
    'i4': rng.integers(-2**31, 2**31 - 1, size=(2, 2), dtype=np.int32),
    'u1': rng.integers(0, 255, size=5, dtype=np.uint8),
    'u2_big': rng.integers(0, 2**16 - 1, size=6, dtype=np.uint16).astype('>u2'),
    'u8': rng.integers(0, 2**63, size=3, dtype=np.uint64),
    'scalar': np.array(3.25),
    'empty': np.zeros((0, 3), np.float32),
}
pose_enc_list = np.empty(2, dtype=object)
pose_enc_list[0] = np.arange(3)
pose_enc_list[1] = {'not': 'an array'}
np.savez(out + '/stored.npz', pose_enc_list=pose_enc_list, **arrays)
np.savez_compressed(out + '/compressed.npz', pose_enc_list=pose_enc_list, **arrays)
print(json.dumps({k: describe(v) for k, v in arrays.items()}))
`;
  const folder = join(dir, 'from-numpy');
  mkdirSync(folder);
  const expected = hasNumpy ? python<Record<string, Described>>(GENERATE, folder) : {};

  for (const file of ['stored.npz', 'compressed.npz']) {
    it(`reads np.${file === 'stored.npz' ? 'savez' : 'savez_compressed'} output identically`, async () => {
      const npz = await readNpz(join(folder, file));
      assert.deepEqual(npz.keys.toSorted(), [...Object.keys(expected), 'pose_enc_list'].sort());
      for (const member of npz.members) {
        assert.equal(member.compressed, file === 'compressed.npz');
        if (member.name === 'pose_enc_list') {
          assert.equal(member.pickled, true);
          assert.throws(() => npz.get(member.name), /member "pose_enc_list\.npy": is a pickled object array/);
          continue;
        }
        const want = expected[member.name]!;
        assert.deepEqual([member.dtype, member.shape, member.fortranOrder], [want.dtype, want.shape, want.fortran], member.name);
        assert.deepEqual(describe_(npz.get(member.name)), want, member.name);
      }
      await npz.close();
    });
  }

  it('reads .npy format versions 1.0, 2.0 and 3.0', () => {
    const versions = python<Record<string, Described>>(
      `${DESCRIBE}
import json, sys
a = np.asfortranarray(np.arange(24, dtype='>i4').reshape(2, 3, 4))
for major in (1, 2, 3):
    with open(f'{sys.argv[1]}/v{major}.npy', 'wb') as f:
        np.lib.format.write_array(f, a, version=(major, 0))
print(json.dumps({'a': describe(a)}))`,
      folder,
    );
    for (const major of [1, 2, 3]) {
      const bytes = readFileSync(join(folder, `v${major}.npy`));
      assert.equal(bytes[6], major);
      assert.deepEqual(describe_(decodeNpy(bytes, `v${major}.npy`)), versions.a);
    }
  });

  it('converts float16 bit-exactly, both ways', () => {
    const result = python<{ f32: string; f16: string; halves_as_f32: string }>(`
import base64, json, sys
import numpy as np
rng = np.random.default_rng(7)
bits = np.concatenate([
    rng.integers(0, 2**32, size=20000, dtype=np.uint32),
    # Around the half range: subnormals, ties, overflow.
    (rng.integers(0x33000000, 0x47800000 + 0x800000, size=20000, dtype=np.uint32)),
])
f32 = bits.view(np.float32)
with np.errstate(all='ignore'):
    f16 = f32.astype(np.float16)
halves = np.arange(65536, dtype=np.uint16).view(np.float16)
np.save(sys.argv[1], halves)
b = lambda a: base64.b64encode(a.tobytes()).decode()
print(json.dumps({'f32': b(f32), 'f16': b(f16), 'halves_as_f32': b(halves.astype(np.float32))}))`, join(folder, 'halves.npy'));
    const f32 = Buffer.from(result.f32, 'base64');
    const floats = new Float32Array(f32.buffer, f32.byteOffset, f32.length / 4);
    const [, halfBytes] = encodeNpyParts({ dtype: '<f2', shape: [floats.length], fortranOrder: false, data: floats });
    assert.ok(Buffer.from(halfBytes).equals(Buffer.from(result.f16, 'base64')), 'float32 -> float16 matches numpy');

    const widened = decodeNpy(readFileSync(join(folder, 'halves.npy'))).data as Float32Array;
    const widenedBytes = Buffer.from(widened.buffer, widened.byteOffset, widened.byteLength);
    assert.ok(widenedBytes.equals(Buffer.from(result.halves_as_f32, 'base64')), 'float16 -> float32 matches numpy');
  });
});

describe('numpy reads what we write', { skip: !hasNumpy && 'python3 with numpy is not available' }, () => {
  const count = 24;
  const ramp = (scale: number) => Array.from({ length: count }, (_, i) => (i - 11) * scale);
  const ARRAYS: Record<string, NdArray> = {
    f2: { dtype: '<f2', shape: [4, 6], fortranOrder: false, data: Float32Array.from(ramp(0.25)) },
    f2_big: { dtype: '>f2', shape: [4, 6], fortranOrder: true, data: Float32Array.from(ramp(-0.5)) },
    f4: { dtype: '<f4', shape: [2, 3, 4], fortranOrder: false, data: Float32Array.from(ramp(Math.PI)) },
    f4_big_fortran: { dtype: '>f4', shape: [2, 3, 4], fortranOrder: true, data: Float32Array.from(ramp(Math.E)) },
    f8: { dtype: '<f8', shape: [24], fortranOrder: false, data: Float64Array.from(ramp(1 / 3)) },
    f8_big: { dtype: '>f8', shape: [6, 4], fortranOrder: false, data: Float64Array.from(ramp(-1e300)) },
    i1: { dtype: '|i1', shape: [24], fortranOrder: false, data: Int8Array.from(ramp(11)) },
    i2_big: { dtype: '>i2', shape: [3, 8], fortranOrder: true, data: Int16Array.from(ramp(2000)) },
    i4: { dtype: '<i4', shape: [24], fortranOrder: false, data: Int32Array.from(ramp(100_000_000)) },
    i8: { dtype: '<i8', shape: [2, 12], fortranOrder: true, data: BigInt64Array.from(ramp(1).map((v) => BigInt(v) * 2n ** 59n)) },
    i8_big: { dtype: '>i8', shape: [24], fortranOrder: false, data: BigInt64Array.from(ramp(1).map((v) => BigInt(v) * 3n ** 35n)) },
    u1: { dtype: '|u1', shape: [24], fortranOrder: false, data: Uint8Array.from(ramp(1).map((v) => v * 10 + 120)) },
    u2: { dtype: '<u2', shape: [24], fortranOrder: false, data: Uint16Array.from(ramp(1).map((v) => (v + 11) * 2800)) },
    u4_big: { dtype: '>u4', shape: [4, 6], fortranOrder: true, data: Uint32Array.from(ramp(1).map((v) => (v + 11) * 180_000_000)) },
    u8_big: { dtype: '>u8', shape: [24], fortranOrder: false, data: BigUint64Array.from(ramp(1).map((v) => BigInt(v + 11) * 2n ** 59n)) },
    bool: { dtype: '|b1', shape: [2, 12], fortranOrder: true, data: Uint8Array.from(ramp(1).map((v) => v & 1)) },
    text: { dtype: '<U7', shape: [2, 2], fortranOrder: true, data: ['a', 'héllo', '🙂🙂', ''] },
    text_big: { dtype: '>U3', shape: [3], fortranOrder: false, data: ['x', 'yz', 'abc'] },
    scalar: { dtype: '<f8', shape: [], fortranOrder: false, data: Float64Array.from([2.5]) },
    empty: { dtype: '<f4', shape: [0, 5], fortranOrder: false, data: new Float32Array(0) },
  };
  const LOAD = `${DESCRIBE}
import json, sys, zipfile
out = {}
for path in sys.argv[1:]:
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None, path
    with np.load(path, allow_pickle=False) as npz:
        out[path] = {key: describe(npz[key]) for key in npz.files}
print(json.dumps(out))`;

  it('np.load reads our stored, compressed and ZIP64 archives with the same dtypes, shapes and values', async () => {
    const stored = join(dir, 'ours-stored.npz');
    const compressed = join(dir, 'ours-compressed.npz');
    const zip64 = join(dir, 'ours-zip64.npz');
    await writeNpz(stored, ARRAYS);
    await writeNpz(compressed, ARRAYS, { compress: true });
    const writer = await ZipWriter.create(zip64, { forceZip64: true });
    for (const [key, array] of Object.entries(ARRAYS)) await writer.add(`${key}.npy`, encodeNpyParts(array), { compress: key.startsWith('f') });
    await writer.close();

    const loaded = python<Record<string, Record<string, Described>>>(LOAD, stored, compressed, zip64);
    for (const path of [stored, compressed, zip64]) {
      assert.deepEqual(Object.keys(loaded[path]!), Object.keys(ARRAYS));
      for (const [key, array] of Object.entries(ARRAYS)) {
        assert.deepEqual(loaded[path]![key], describe_(array), `${path} ${key}`);
      }
    }
  });

  it('python zipfile reads a 70 000-entry archive and a zipped folder', async () => {
    const many = join(dir, 'many.zip');
    const writer = await ZipWriter.create(many);
    for (let i = 0; i < 70_000; i++) await writer.add(`n/${i}.txt`, Buffer.from(`${i}`));
    await writer.close();
    const model = join(dir, 'model');
    mkdirSync(join(model, 'sparse', '0'), { recursive: true });
    writeFileSync(join(model, 'sparse', '0', 'images.bin'), Buffer.alloc(100_000, 3));
    writeFileSync(join(model, 'sparse', '0', 'cameras.txt'), '1 PINHOLE 4 3 1 1 2 1.5\n');
    const folderZip = join(dir, 'model.zip');
    await zipFolder(model, folderZip);

    const listed = python<Record<string, { count: number; ok: boolean; sample: Record<string, string> }>>(
      `
import json, sys, zipfile
out = {}
for path in sys.argv[1:]:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        out[path] = {'count': len(names), 'ok': z.testzip() is None,
                     'sample': {n: z.read(n)[:40].hex() for n in names if not n.startswith('n/') or n in ('n/0.txt', 'n/69999.txt')}}
print(json.dumps(out))`,
      many,
      folderZip,
    );
    const hex = (text: string) => Buffer.from(text).toString('hex');
    assert.deepEqual(listed[many], { count: 70_000, ok: true, sample: { 'n/0.txt': hex('0'), 'n/69999.txt': hex('69999') } });
    assert.deepEqual(listed[folderZip], {
      count: 2,
      ok: true,
      sample: {
        'sparse/0/cameras.txt': hex('1 PINHOLE 4 3 1 1 2 1.5\n'),
        'sparse/0/images.bin': Buffer.alloc(40, 3).toString('hex'),
      },
    });
  });
});
