import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeNpy, encodeNpy, encodeNpyParts, type NdArray, type NpyData, npyHeader } from '../../src/formats/npy.ts';

/** Deterministic pseudo-random bytes (mulberry32), so failures reproduce. */
function randomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}

function bytesOf(data: NpyData): Buffer {
  assert.ok(!Array.isArray(data));
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function assertSameArray(actual: NdArray, expected: NdArray): void {
  assert.equal(actual.dtype, expected.dtype);
  assert.deepEqual(actual.shape, expected.shape);
  assert.equal(actual.fortranOrder, expected.fortranOrder);
  assert.equal(actual.data.constructor, expected.data.constructor);
  if (Array.isArray(expected.data)) assert.deepEqual(actual.data, expected.data);
  else assert.ok(bytesOf(actual.data).equals(bytesOf(expected.data)), `${expected.dtype} data differs`);
}

const SHAPE = [2, 3, 4];
const COUNT = 24;
/** One sample per decodable kind: [descr without byte order, data]. */
const SAMPLES: [string, () => NpyData][] = [
  ['f2', () => Float32Array.from({ length: COUNT }, (_, i) => (i - 12) / 8).fill(Number.POSITIVE_INFINITY, 0, 1).fill(-0, 1, 2)],
  ['f4', () => new Float32Array(randomBytes(COUNT * 4, 1).buffer)],
  ['f8', () => new Float64Array(randomBytes(COUNT * 8, 2).buffer)],
  ['i1', () => new Int8Array(randomBytes(COUNT, 3).buffer)],
  ['i2', () => new Int16Array(randomBytes(COUNT * 2, 4).buffer)],
  ['i4', () => new Int32Array(randomBytes(COUNT * 4, 5).buffer)],
  ['i8', () => new BigInt64Array(randomBytes(COUNT * 8, 6).buffer)],
  ['u1', () => randomBytes(COUNT, 7)],
  ['u2', () => new Uint16Array(randomBytes(COUNT * 2, 8).buffer)],
  ['u4', () => new Uint32Array(randomBytes(COUNT * 4, 9).buffer)],
  ['u8', () => new BigUint64Array(randomBytes(COUNT * 8, 10).buffer)],
  ['b1', () => randomBytes(COUNT, 11).map((b) => b & 1)],
  ['U5', () => Array.from({ length: COUNT }, (_, i) => ['', 'a', 'héllo', '日本', '🙂x', 'a\0b'][i % 6]!)],
];

describe('npy round trips', () => {
  for (const [kind, make] of SAMPLES) {
    const orders = kind.endsWith('1') && kind !== 'U1' ? ['|'] : ['<', '>'];
    for (const order of orders) {
      for (const fortranOrder of [false, true]) {
        it(`${order}${kind} ${fortranOrder ? 'Fortran' : 'C'} order`, () => {
          const array: NdArray = { dtype: `${order}${kind}`, shape: SHAPE, fortranOrder, data: make() };
          assertSameArray(decodeNpy(encodeNpy(array)), array);
        });
      }
    }
  }

  it('writes big-endian items with their bytes reversed', () => {
    const data = new Uint32Array(randomBytes(16, 12).buffer);
    const little = encodeNpyParts({ dtype: '<u4', shape: [4], fortranOrder: false, data })[1];
    const big = encodeNpyParts({ dtype: '>u4', shape: [4], fortranOrder: false, data })[1];
    for (let i = 0; i < 16; i += 4) assert.deepEqual([...big.subarray(i, i + 4)], [...little.subarray(i, i + 4)].reverse());
  });

  it('keeps 0-d and empty arrays', () => {
    const scalar: NdArray = { dtype: '<f8', shape: [], fortranOrder: false, data: new Float64Array([Math.PI]) };
    assertSameArray(decodeNpy(encodeNpy(scalar)), scalar);
    const empty: NdArray = { dtype: '<i4', shape: [0, 3], fortranOrder: false, data: new Int32Array(0) };
    assertSameArray(decodeNpy(encodeNpy(empty)), empty);
  });

  it('strips trailing NULs from text but keeps inner ones', () => {
    const array: NdArray = { dtype: '<U4', shape: [3], fortranOrder: false, data: ['ab\0', 'a\0b', '\0'] };
    assert.deepEqual(decodeNpy(encodeNpy(array)).data, ['ab', 'a\0b', '']);
  });

  it('falls back to format 2.0 only when the header outgrows 64 KiB', () => {
    const small = encodeNpy({ dtype: '<u1', shape: [1, 1], fortranOrder: false, data: new Uint8Array(1) });
    assert.equal(small[6], 1);
    const shape = new Array<number>(30000).fill(1);
    const large = encodeNpy({ dtype: '<u1', shape, fortranOrder: false, data: new Uint8Array([7]) });
    assert.equal(large[6], 2);
    const decoded = decodeNpy(large);
    assert.equal(decoded.shape.length, 30000);
    assert.deepEqual([...(decoded.data as Uint8Array)], [7]);
  });

  it('reads format 3.0 (UTF-8 header)', () => {
    const v2 = encodeNpy({ dtype: '<u1', shape: new Array<number>(30000).fill(1), fortranOrder: true, data: new Uint8Array([9]) });
    v2[6] = 3;
    const decoded = decodeNpy(v2);
    assert.equal(decoded.fortranOrder, true);
    assert.deepEqual([...(decoded.data as Uint8Array)], [9]);
  });
});

describe('npy zero-copy reads', () => {
  const array: NdArray = { dtype: '<f4', shape: [8], fortranOrder: false, data: new Float32Array(randomBytes(32, 13).buffer) };

  it('views the source bytes when aligned and native', () => {
    const bytes = encodeNpy(array);
    const decoded = decodeNpy(bytes);
    assert.equal(decoded.data.constructor, Float32Array);
    assert.equal((decoded.data as Float32Array).buffer, bytes.buffer);
    assert.equal((decoded.data as Float32Array).byteOffset, npyHeader(bytes).dataOffset);
  });

  it('copies when the data is misaligned', () => {
    const encoded = encodeNpy(array);
    const shifted = new Uint8Array(encoded.length + 1).subarray(1);
    shifted.set(encoded);
    const decoded = decodeNpy(shifted);
    assert.notEqual((decoded.data as Float32Array).buffer, shifted.buffer);
    assertSameArray(decoded, array);
  });

  it('copies (and swaps) big-endian data', () => {
    const big = { ...array, dtype: '>f4' };
    const bytes = encodeNpy(big);
    const decoded = decodeNpy(bytes);
    assert.notEqual((decoded.data as Float32Array).buffer, bytes.buffer);
    assertSameArray(decoded, big);
  });
});

describe('npy float16', () => {
  const roundTrip = (values: number[]) => {
    const encoded = encodeNpy({ dtype: '<f2', shape: [values.length], fortranOrder: false, data: Float32Array.from(values) });
    return [...(decodeNpy(encoded).data as Float32Array)];
  };

  it('keeps exactly representable values, infinities, signed zero and NaN', () => {
    const values = [0, -0, 1, -2.5, 65504, -65504, 2 ** -24, 2 ** -14, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    assert.deepEqual(roundTrip(values), values);
    assert.ok(Number.isNaN(roundTrip([Number.NaN])[0]));
  });

  it('rounds to nearest, ties to even', () => {
    const ulp = 2 ** -10;
    assert.deepEqual(roundTrip([1 + ulp / 2, 1 + (3 * ulp) / 2, 1 + ulp / 4, 1 + (3 * ulp) / 4]), [1, 1 + 2 * ulp, 1, 1 + ulp]);
    assert.deepEqual(roundTrip([65520, 65519, 2 ** -25, 2 ** -25 * 1.5, 2 ** -26]), [Number.POSITIVE_INFINITY, 65504, 0, 2 ** -24, 0]);
  });
});

describe('npy header', () => {
  it('reports header fields from the header bytes alone', () => {
    const bytes = encodeNpy({ dtype: '>i2', shape: [5, 2], fortranOrder: true, data: new Int16Array(10) });
    const dataOffset = bytes.length - 10 * 2;
    const header = npyHeader(bytes.subarray(0, dataOffset));
    assert.deepEqual(header, { dtype: '>i2', shape: [5, 2], fortranOrder: true, dataOffset, pickled: false });
    assert.equal(header.dataOffset % 64, 0);
  });

  it('reports object arrays as pickled, and refuses to decode them', () => {
    const bytes = withHeader("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", [0x80, 0x04]);
    assert.equal(npyHeader(bytes).pickled, true);
    assert.throws(() => decodeNpy(bytes, 'pose_enc_list.npy'), /^Error: pose_enc_list\.npy: is a pickled object array \(dtype \|O\)/);
  });

  it('reports structured dtypes holding objects as pickled', () => {
    const header = npyHeader(withHeader("{'descr': [('a', '<f4'), ('b', '|O')], 'fortran_order': False, 'shape': (1,), }", []));
    assert.equal(header.pickled, true);
    assert.equal(header.dtype, "[('a', '<f4'), ('b', '|O')]");
  });

  it('accepts Python 2 long integers in the shape', () => {
    assert.deepEqual(npyHeader(withHeader("{'descr': '<u1', 'fortran_order': False, 'shape': (2L, 1L), }", [1, 2])).shape, [2, 1]);
  });
});

/** A version 1.0 .npy with an arbitrary header text, for inputs our encoder would never write. */
function withHeader(text: string, data: number[]): Uint8Array {
  const header = Buffer.from(`${text}\n`, 'latin1');
  const out = Buffer.alloc(10 + header.length + data.length);
  Buffer.from('\x93NUMPY\x01\x00', 'latin1').copy(out);
  out.writeUInt16LE(header.length, 8);
  header.copy(out, 10);
  out.set(data, 10 + header.length);
  return out;
}

describe('npy refuses bad input, naming the member', () => {
  const good = encodeNpy({ dtype: '<f4', shape: [3, 2], fortranOrder: false, data: new Float32Array(6) });
  const cases: [string, Uint8Array, RegExp][] = [
    ['bad magic', Buffer.from('PK\x03\x04 not numpy at all'), /^Error: depth\.npy: not an \.npy array \(bad magic\)$/],
    ['an empty file', new Uint8Array(0), /^Error: depth\.npy: truncated \.npy header$/],
    ['a truncated header', good.subarray(0, 40), new RegExp(`^Error: depth\\.npy: truncated \\.npy header \\(${npyHeader(good).dataOffset} bytes declared, 40 present\\)$`)],
    ['truncated data', good.subarray(0, good.length - 1), /^Error: depth\.npy: header declares 24 bytes but only 23 are present$/],
    [
      'a huge declared shape',
      withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000), }", new Array(120).fill(0)),
      /^Error: depth\.npy: header declares 4000000000000000 bytes but only 120 are present$/,
    ],
    ['trailing bytes', Buffer.concat([good, Buffer.alloc(4)]), /^Error: depth\.npy: header declares 24 bytes but 28 follow the header$/],
    ['an unknown version', Buffer.concat([good.subarray(0, 6), Buffer.from([9, 0]), good.subarray(8)]), /^Error: depth\.npy: unsupported \.npy format version 9\.0$/],
    ['complex items', withHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new Array(8).fill(0)), /unsupported dtype <c8/],
    ['byte strings', withHeader("{'descr': '|S3', 'fortran_order': False, 'shape': (1,), }", [1, 2, 3]), /unsupported dtype \|S3/],
    ['zero-width text', withHeader("{'descr': '<U0', 'fortran_order': False, 'shape': (1000000000,), }", []), /unsupported dtype <U0/],
    ['a header that is not a dict', withHeader("['descr', '<f4']", []), /must be a dict with exactly descr, fortran_order and shape/],
    ['a missing key', withHeader("{'descr': '<f4', 'shape': (1,)}", []), /must be a dict with exactly/],
    ['a negative dimension', withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", []), /shape \(-1,\) is not a tuple/],
    ['a parenthesised int as shape', withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", []), /shape 3 is not a tuple/],
    ['a non-bool fortran_order', withHeader("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", []), /fortran_order is not a bool/],
    ['malformed Python', withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", []), /malformed \.npy header/],
    ['absurd nesting', withHeader(`{'descr': ${'['.repeat(100)}`, []), /malformed \.npy header: nesting too deep/],
  ];
  for (const [problem, bytes, message] of cases) {
    it(problem, () => assert.throws(() => decodeNpy(bytes, 'depth.npy'), message));
  }
  it('a corrupt code point in text', () => {
    const bytes = encodeNpy({ dtype: '<U1', shape: [1], fortranOrder: false, data: ['a'] });
    bytes.fill(0xff, bytes.length - 4);
    assert.throws(() => decodeNpy(bytes, 'names.npy'), /^Error: names\.npy: item 0 holds invalid code point 4294967295$/);
  });
});

describe('npy encoder checks its input', () => {
  const cases: [string, NdArray, RegExp][] = [
    ['an object dtype', { dtype: '|O', shape: [1], fortranOrder: false, data: ['x'] }, /cannot encode dtype \|O/],
    ['data of the wrong type', { dtype: '<f8', shape: [2], fortranOrder: false, data: new Float32Array(2) }, /needs data as Float64Array, got Float32Array/],
    ['non-strings for text', { dtype: '<U3', shape: [1], fortranOrder: false, data: new Uint32Array(3) }, /needs data as Array/],
    ['a length that disagrees with the shape', { dtype: '<i4', shape: [2, 2], fortranOrder: false, data: new Int32Array(3) }, /holds 4 items but data has 3/],
    ['a fractional dimension', { dtype: '<i4', shape: [1.5], fortranOrder: false, data: new Int32Array(1) }, /is not a list of non-negative integers/],
    ['text wider than the dtype', { dtype: '<U2', shape: [1], fortranOrder: false, data: ['abc'] }, /item 0 is longer than 2 characters/],
  ];
  for (const [problem, array, message] of cases) {
    it(problem, () => assert.throws(() => encodeNpy(array, 'member'), message));
  }
});
