import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { encodeNpy, type NdArray } from '../../src/formats/npy.ts';
import { readNpz, writeNpz } from '../../src/formats/npz.ts';
import { ZipWriter } from '../../src/formats/zip.ts';
import { tempPaths } from '../helpers/temp-paths.ts';

const tempPath = tempPaths('recon-npz-test-');

const ARRAYS: Record<string, NdArray> = {
  depth: { dtype: '<f4', shape: [2, 3, 4, 1], fortranOrder: false, data: Float32Array.from({ length: 24 }, (_, i) => i / 3) },
  extrinsic: { dtype: '>f8', shape: [2, 3, 4], fortranOrder: true, data: Float64Array.from({ length: 24 }, (_, i) => -i * 1.5) },
  half: { dtype: '<f2', shape: [3], fortranOrder: false, data: Float32Array.from([0.5, -2, 1024]) },
  ids: { dtype: '<i8', shape: [2, 2], fortranOrder: true, data: BigInt64Array.from([1n, -2n, 3n, 2n ** 62n]) },
  mask: { dtype: '|b1', shape: [4], fortranOrder: false, data: Uint8Array.from([1, 0, 0, 1]) },
  names: { dtype: '<U7', shape: [2], fortranOrder: false, data: ['img_001', 'ü'] },
  counts: { dtype: '>u2', shape: [], fortranOrder: false, data: Uint16Array.from([65535]) },
};

function assertSameArray(actual: NdArray, expected: NdArray, key: string): void {
  assert.equal(actual.dtype, expected.dtype, key);
  assert.deepEqual(actual.shape, expected.shape, key);
  assert.equal(actual.fortranOrder, expected.fortranOrder, key);
  assert.deepEqual(Array.from(actual.data as ArrayLike<unknown>), Array.from(expected.data as ArrayLike<unknown>), key);
}

describe('npz round trips', () => {
  for (const compress of [false, true]) {
    it(compress ? 'compressed (like np.savez_compressed)' : 'stored (like np.savez)', async () => {
      const path = tempPath('arrays.npz');
      await writeNpz(path, ARRAYS, { compress });
      const npz = await readNpz(path);
      assert.equal(npz.path, path);
      assert.deepEqual(npz.keys, Object.keys(ARRAYS));
      for (const member of npz.members) {
        const array = ARRAYS[member.name]!;
        assert.equal(member.dtype, array.dtype);
        assert.deepEqual(member.shape, array.shape);
        assert.equal(member.fortranOrder, array.fortranOrder);
        assert.equal(member.pickled, false);
        assert.equal(member.compressed, compress);
        assert.equal(member.bytes, encodeNpy(array).length);
        assertSameArray(npz.get(member.name), array, member.name);
        assertSameArray(await npz.load(member.name), array, `${member.name} (load)`);
      }
      assert.equal(npz.has('depth'), true);
      assert.equal(npz.has('depth.npy'), false);
      await npz.close();
    });
  }

  it('decodes stored members as views of one aligned read', async () => {
    const path = tempPath('views.npz');
    await writeNpz(path, { depth: ARRAYS.depth!, ids: ARRAYS.ids! });
    const npz = await readNpz(path);
    for (const key of ['depth', 'ids']) {
      const data = npz.get(key).data as Float32Array | BigInt64Array;
      const member = npz.members.find((m) => m.name === key)!;
      assert.equal(data.buffer.byteLength, member.bytes, `${key} views the buffer holding the whole member`);
      assert.equal(data.byteOffset, member.bytes - data.byteLength);
    }
    await npz.close();
    assert.throws(() => npz.get('depth'), /views\.npz: member "depth\.npy": the archive is closed/);
  });

  it('loads a stored member into a buffer holding only its data, checked across parallel chunks', async () => {
    const path = tempPath('big.npz');
    // Over 4 MiB: read as several chunks whose CRCs are combined.
    const big: NdArray = { dtype: '<f4', shape: [3_000_000], fortranOrder: false, data: Float32Array.from({ length: 3_000_000 }, (_, i) => i % 977) };
    await writeNpz(path, { big, ids: ARRAYS.ids! });
    const npz = await readNpz(path);
    for (const [key, array] of [['big', big], ['ids', ARRAYS.ids!]] as const) {
      const loaded = await npz.load(key);
      assertSameArray(loaded, array, key);
      const data = loaded.data as Float32Array | BigInt64Array;
      assert.equal(data.byteOffset, 0, `${key} starts its buffer`);
      assert.equal(data.buffer.byteLength, data.byteLength, `${key}'s buffer holds nothing else`);
    }
    await npz.close();
    await assert.rejects(npz.load('big'), /big\.npz: member "big\.npy": the archive is closed/);

    const bytes = readFileSync(path);
    bytes[bytes.indexOf('\x93NUMPY', 0, 'latin1') + 6_000_000]! ^= 0x01;
    writeFileSync(path, bytes);
    const corrupt = await readNpz(path);
    await assert.rejects(corrupt.load('big'), /big\.npz: member "big\.npy": CRC-32 mismatch/);
    assertSameArray(await corrupt.load('ids'), ARRAYS.ids!, 'ids');
    await corrupt.close();
  });

  it('writes nothing when an array cannot be encoded, keeping the old file', async () => {
    const path = tempPath('bad.npz');
    writeFileSync(path, 'previous');
    const bad: NdArray = { dtype: '<f4', shape: [5], fortranOrder: false, data: new Float32Array(4) };
    await assert.rejects(writeNpz(path, { good: ARRAYS.depth!, bad }), /bad\.npz: member "bad\.npy": shape \[5\] holds 5 items but data has 4/);
    assert.equal(readFileSync(path, 'utf8'), 'previous');
    assert.deepEqual(readdirSync(dirname(path)).filter((f) => f !== 'bad.npz'), []);
  });
});

/** An .npz with hand-made members, for content our writer refuses to produce. */
async function rawNpz(name: string, members: Record<string, Uint8Array>): Promise<string> {
  const path = tempPath(name);
  const zip = await ZipWriter.create(path);
  for (const [member, bytes] of Object.entries(members)) await zip.add(member, bytes);
  await zip.close();
  return path;
}

function npyWithHeader(header: string, data: Uint8Array): Uint8Array {
  const text = Buffer.from(`${header}\n`, 'latin1');
  const preamble = Buffer.from('\x93NUMPY\x01\x00\x00\x00', 'latin1');
  preamble.writeUInt16LE(text.length, 8);
  return Buffer.concat([preamble, text, data]);
}

describe('npz refuses what it cannot read safely', () => {
  it('lists a pickled member but will not decode it', async () => {
    const pickled = npyWithHeader("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", Buffer.from('\x80\x04fake pickle', 'latin1'));
    const path = await rawNpz('predictions.npz', { 'pose_enc_list.npy': pickled, 'depth.npy': encodeNpy(ARRAYS.depth!) });
    const npz = await readNpz(path);
    const member = npz.members.find((m) => m.name === 'pose_enc_list')!;
    assert.deepEqual(
      { ...member },
      { name: 'pose_enc_list', dtype: '|O', shape: [3], fortranOrder: false, pickled: true, compressed: false, bytes: pickled.length },
    );
    assert.throws(
      () => npz.get('pose_enc_list'),
      /predictions\.npz: member "pose_enc_list\.npy": is a pickled object array \(dtype \|O\); refusing to unpickle it/,
    );
    assertSameArray(npz.get('depth'), ARRAYS.depth!, 'depth');
    await assert.rejects(npz.load('pose_enc_list'), /refusing to unpickle it/);
    await npz.close();
  });

  it('names missing members and the ones present', async () => {
    const path = tempPath('some.npz');
    await writeNpz(path, { a: ARRAYS.mask!, b: ARRAYS.half! });
    const npz = await readNpz(path);
    assert.throws(() => npz.get('c'), /some\.npz: no member "c" \(has a, b\)/);
    await npz.close();
  });

  it('a member declaring more data than it holds', async () => {
    const huge = npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 1000), }", new Uint8Array(120));
    const npz = await readNpz(await rawNpz('predictions.npz', { 'depth.npy': huge }));
    assert.deepEqual(npz.members[0]!.shape, [1000, 1000]);
    assert.throws(() => npz.get('depth'), /^Error: predictions\.npz: member "depth\.npy": header declares 4000000 bytes but only 120 are present$/);
    await assert.rejects(npz.load('depth'), /header declares 4000000 bytes but only 120 are present$/);
    await npz.close();
  });

  it('a member that is not an .npy', async () => {
    const path = await rawNpz('junk.npz', { 'x.npy': Buffer.from('hello world, not numpy') });
    await assert.rejects(readNpz(path), /junk\.npz: member "x\.npy": not an \.npy array \(bad magic\)/);
  });

  it('a truncated archive', async () => {
    const path = tempPath('cut.npz');
    await writeNpz(path, ARRAYS);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(readNpz(path), /cut\.npz: not a ZIP archive, or truncated/);
  });

  it('a member whose bytes were corrupted', async () => {
    const path = tempPath('flipped.npz');
    await writeNpz(path, { depth: ARRAYS.depth! });
    const bytes = readFileSync(path);
    bytes[bytes.indexOf('\x93NUMPY', 0, 'latin1') + encodeNpy(ARRAYS.depth!).length - 3]! ^= 0x40;
    writeFileSync(path, bytes);
    const npz = await readNpz(path);
    assert.throws(() => npz.get('depth'), /flipped\.npz: member "depth\.npy": CRC-32 mismatch/);
    await assert.rejects(npz.load('depth'), /flipped\.npz: member "depth\.npy": CRC-32 mismatch/);
    await npz.close();
  });

  it('ignores entries that are not .npy members', async () => {
    const path = await rawNpz('extra.npz', { 'readme.txt': Buffer.from('hi'), 'a.npy': encodeNpy(ARRAYS.mask!) });
    const npz = await readNpz(path);
    assert.deepEqual(npz.keys, ['a']);
    await npz.close();
  });
});
