import { isNativeOrder, type NpyDtype, parseDtype } from './npy-dtype.ts';
import { float16ToFloat32, float32ToFloat16 } from './npy-float16.ts';
import { encodeNpyHeader, type NpyHeader, npyHeader } from './npy-header.ts';

export { type NpyHeader, npyHeader } from './npy-header.ts';

export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | string[];

/**
 * An n-dimensional numpy array. `data` holds the items flat, in the order the file stores them
 * (row-major, or column-major when `fortranOrder`), always in native byte order.
 */
export interface NdArray {
  /** The numpy descr as written, e.g. '<f4', '|b1', '<U12'. */
  dtype: string;
  shape: number[];
  fortranOrder: boolean;
  /** float16 ('<f2') as a Float32Array, bool ('|b1') as a Uint8Array of 0/1, text ('<U…') as strings. */
  data: NpyData;
}

type NumericData = Exclude<NpyData, string[]>;
type NumericConstructor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => NumericData;

/** The typed array for each decodable kind+size (float16 is widened to float32 separately). */
const CONSTRUCTORS: Record<string, NumericConstructor> = {
  f4: Float32Array,
  f8: Float64Array,
  i1: Int8Array,
  i2: Int16Array,
  i4: Int32Array,
  i8: BigInt64Array,
  u1: Uint8Array,
  u2: Uint16Array,
  u4: Uint32Array,
  u8: BigUint64Array,
  b1: Uint8Array,
};

/**
 * Decodes a whole .npy file. The result views `bytes` without copying when the data is in native
 * byte order and suitably aligned; otherwise it is copied (and byte-swapped). `name` prefixes
 * every error, e.g. 'predictions.npz: member "depth.npy"'.
 */
export function decodeNpy(bytes: Uint8Array, name = 'npy data'): NdArray {
  const header = npyHeader(bytes, name);
  return decodeNpyBody(header, bytes.subarray(header.dataOffset), name);
}

/** Decodes the data that follows `header`, held apart from it (e.g. read into a buffer of its own). */
export function decodeNpyBody(header: NpyHeader, body: Uint8Array, name = 'npy data'): NdArray {
  if (header.pickled) {
    throw new Error(`${name}: is a pickled object array (dtype ${header.dtype}); refusing to unpickle it`);
  }
  const dtype = parseDtype(header.dtype);
  if (!dtype) throw new Error(`${name}: unsupported dtype ${header.dtype}`);
  const count = header.shape.reduce((n, d) => n * BigInt(d), 1n);
  const declared = count * BigInt(dtype.itemsize);
  const present = body.length;
  if (declared > BigInt(present)) {
    throw new Error(`${name}: header declares ${declared} bytes but only ${present} are present`);
  }
  if (declared < BigInt(present)) {
    throw new Error(`${name}: header declares ${declared} bytes but ${present} follow the header`);
  }
  const data = decodeData(body, dtype, Number(count), name);
  return { dtype: header.dtype, shape: header.shape, fortranOrder: header.fortranOrder, data };
}

function decodeData(bytes: Uint8Array, dtype: NpyDtype, count: number, name: string): NpyData {
  if (dtype.kind === 'U') {
    const width = dtype.itemsize / 4;
    return decodeText(nativeView(bytes, dtype, Uint32Array, count * width), width, name);
  }
  if (dtype.kind === 'f' && dtype.itemsize === 2) return float16ToFloat32(nativeView(bytes, dtype, Uint16Array, count));
  return nativeView(bytes, dtype, CONSTRUCTORS[`${dtype.kind}${dtype.itemsize}`]!, count);
}

/** A view when possible; a copy when misaligned, swapped when the file's byte order is not ours. */
function nativeView<T extends NumericData>(
  bytes: Uint8Array,
  dtype: NpyDtype,
  Type: new (buffer: ArrayBuffer, byteOffset: number, length: number) => T,
  length: number,
): T {
  const native = isNativeOrder(dtype);
  const unitSize = dtype.kind === 'U' ? 4 : dtype.itemsize;
  if (native && bytes.byteOffset % unitSize === 0) return new Type(bytes.buffer as ArrayBuffer, bytes.byteOffset, length);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (!native) swapBytes(copy, unitSize);
  return new Type(copy.buffer, 0, length);
}

function swapBytes(bytes: Uint8Array, unitSize: number): void {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (unitSize === 2) buffer.swap16();
  else if (unitSize === 4) buffer.swap32();
  else if (unitSize === 8) buffer.swap64();
}

/** numpy pads each item with NULs to the fixed width; trailing NULs are not part of the text. */
function decodeText(units: Uint32Array, width: number, name: string): string[] {
  const out = new Array<string>(units.length / width);
  for (let i = 0; i < out.length; i++) {
    const start = i * width;
    let end = start + width;
    while (end > start && units[end - 1] === 0) end--;
    let text = '';
    for (let j = start; j < end; j++) {
      const codePoint = units[j]!;
      if (codePoint > 0x10ffff) throw new Error(`${name}: item ${i} holds invalid code point ${codePoint}`);
      text += String.fromCodePoint(codePoint);
    }
    out[i] = text;
  }
  return out;
}

/**
 * The .npy encoding as [header, data]. The data part views `array.data` without copying when no
 * conversion is needed, so large arrays can be written without an extra copy.
 */
export function encodeNpyParts(array: NdArray, name = 'array'): [Uint8Array, Uint8Array] {
  const dtype = parseDtype(array.dtype);
  if (!dtype) throw new Error(`${name}: cannot encode dtype ${array.dtype}`);
  if (!array.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${name}: shape [${array.shape}] is not a list of non-negative integers`);
  }
  const count = array.shape.reduce((n, d) => n * d, 1);
  const expected = expectedDataType(dtype);
  if (!(expected === Array ? Array.isArray(array.data) : array.data instanceof expected)) {
    throw new Error(`${name}: dtype ${array.dtype} needs data as ${expected.name}, got ${array.data.constructor.name}`);
  }
  if (array.data.length !== count) {
    throw new Error(`${name}: shape [${array.shape}] holds ${count} items but data has ${array.data.length}`);
  }
  const header = encodeNpyHeader(array.dtype, array.fortranOrder, array.shape);
  return [header, encodeData(array.data, dtype, name)];
}

function expectedDataType(dtype: NpyDtype): new (...args: never[]) => object {
  if (dtype.kind === 'U') return Array;
  if (dtype.kind === 'f' && dtype.itemsize === 2) return Float32Array;
  return CONSTRUCTORS[`${dtype.kind}${dtype.itemsize}`]!;
}

function encodeData(data: NpyData, dtype: NpyDtype, name: string): Uint8Array {
  let units: NumericData;
  if (Array.isArray(data)) units = encodeText(data, dtype.itemsize / 4, name);
  else if (dtype.kind === 'f' && dtype.itemsize === 2) units = float32ToFloat16(data as Float32Array);
  else units = data;
  const bytes = new Uint8Array(units.buffer, units.byteOffset, units.byteLength);
  if (isNativeOrder(dtype)) return bytes;
  const swapped = units === data ? new Uint8Array(bytes) : bytes;
  swapBytes(swapped, dtype.kind === 'U' ? 4 : dtype.itemsize);
  return swapped;
}

function encodeText(items: string[], width: number, name: string): Uint32Array {
  const units = new Uint32Array(items.length * width);
  items.forEach((item, i) => {
    if (typeof item !== 'string') throw new Error(`${name}: item ${i} is not a string`);
    let at = i * width;
    for (const char of item) {
      if (at === (i + 1) * width) throw new Error(`${name}: item ${i} is longer than ${width} characters`);
      units[at++] = char.codePointAt(0)!;
    }
  });
  return units;
}

/** A whole .npy file; see encodeNpyParts to avoid copying the data. */
export function encodeNpy(array: NdArray, name = 'array'): Uint8Array {
  const [header, data] = encodeNpyParts(array, name);
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}
