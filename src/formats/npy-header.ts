import { isObjectDescr } from './npy-dtype.ts';
import { type PyValue, parsePyLiteral, pyRepr } from './npy-literal.ts';

export interface NpyHeader {
  /** The numpy descr as written, e.g. '<f4'; a structured descr in its Python repr. */
  dtype: string;
  shape: number[];
  fortranOrder: boolean;
  /** Where the array data starts, from the beginning of the .npy bytes. */
  dataOffset: number;
  /** Object items, stored as a pickle stream rather than raw values. */
  pickled: boolean;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** numpy aligns the data to 64 bytes so it can be memory-mapped. */
const ALIGN = 64;
/**
 * numpy refuses headers above 10 000 bytes unless told otherwise; we allow far more, but still
 * bound the text we parse.
 */
export const MAX_HEADER_BYTES = 1 << 20;
/** Magic, version and the 4-byte header length of versions 2 and 3. */
const NPY_PREAMBLE_BYTES = 12;

/** The byte count of magic, version, length field and header text, once the preamble is known. */
export function npyHeaderEnd(bytes: Uint8Array, name: string): number {
  if (MAGIC.some((b, i) => i < bytes.length && bytes[i] !== b)) throw new Error(`${name}: not an .npy array (bad magic)`);
  if (bytes.length < 10) throw new Error(`${name}: truncated .npy header`);
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new Error(`${name}: unsupported .npy format version ${major}.${bytes[7]}`);
  if (major === 1) return 10 + (bytes[8]! | (bytes[9]! << 8));
  if (bytes.length < NPY_PREAMBLE_BYTES) throw new Error(`${name}: truncated .npy header`);
  const length = (bytes[8]! | (bytes[9]! << 8) | (bytes[10]! << 16)) + bytes[11]! * 2 ** 24;
  if (length > MAX_HEADER_BYTES) {
    throw new Error(`${name}: .npy header of ${length} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  return 12 + length;
}

/** Reads the header of .npy bytes; only the header itself has to be present. */
export function npyHeader(bytes: Uint8Array, name = 'npy data'): NpyHeader {
  const end = npyHeaderEnd(bytes, name);
  if (bytes.length < end) throw new Error(`${name}: truncated .npy header (${end} bytes declared, ${bytes.length} present)`);
  const start = bytes[6] === 1 ? 10 : 12;
  // Versions 1 and 2 write the header in latin-1, version 3 in UTF-8.
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString(bytes[6] === 3 ? 'utf8' : 'latin1');
  let literal: PyValue;
  try {
    literal = parsePyLiteral(text);
  } catch (error) {
    throw new Error(`${name}: malformed .npy header: ${(error as Error).message}`);
  }
  const fields = typeof literal === 'object' && literal !== null && 'dict' in literal ? literal.dict : undefined;
  const keys = fields ? [...fields.keys()].sort().join(',') : '';
  if (!fields || keys !== 'descr,fortran_order,shape') {
    throw new Error(`${name}: .npy header must be a dict with exactly descr, fortran_order and shape`);
  }
  const descr = fields.get('descr')!;
  const fortranOrder = fields.get('fortran_order');
  const shape = fields.get('shape');
  if (typeof fortranOrder !== 'boolean') throw new Error(`${name}: .npy header fortran_order is not a bool`);
  const dims = typeof shape === 'object' && shape !== null && 'tuple' in shape ? shape.tuple : undefined;
  if (!dims?.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${name}: .npy header shape ${pyRepr(shape ?? null)} is not a tuple of non-negative integers`);
  }
  if (typeof descr !== 'string' && !(typeof descr === 'object' && descr !== null && 'list' in descr)) {
    throw new Error(`${name}: .npy header descr ${pyRepr(descr)} is neither a dtype string nor a field list`);
  }
  return {
    dtype: typeof descr === 'string' ? descr : pyRepr(descr),
    shape: dims as number[],
    fortranOrder,
    dataOffset: end,
    pickled: containsObject(descr),
  };
}

/** A structured descr is a list of (name, descr[, shape]) tuples, nested to any depth. */
function containsObject(descr: PyValue): boolean {
  if (typeof descr === 'string') return isObjectDescr(descr);
  if (typeof descr !== 'object' || descr === null || 'dict' in descr) return false;
  const items = 'list' in descr ? descr.list : descr.tuple.slice(1, 2);
  return items.some(containsObject);
}

/** Magic, version, length and padded header text, ready to be followed by the data. */
export function encodeNpyHeader(dtype: string, fortranOrder: boolean, shape: readonly number[]): Uint8Array {
  const dict = `{'descr': ${pyRepr(dtype)}, 'fortran_order': ${pyRepr(fortranOrder)}, 'shape': ${pyRepr({ tuple: [...shape] })}, }`;
  const text = Buffer.from(dict, 'latin1');
  const padded = (prefix: number) => Math.ceil((prefix + text.length + 1) / ALIGN) * ALIGN;
  // Version 1.0 stores the header length in 16 bits; 2.0 is only needed beyond that.
  const lengthBytes = padded(10) - 10 <= 0xffff ? 2 : 4;
  const prefix = 8 + lengthBytes;
  const total = padded(prefix);
  const out = Buffer.alloc(total, 0x20);
  out.set(MAGIC, 0);
  out[6] = lengthBytes === 2 ? 1 : 2;
  out[7] = 0;
  if (lengthBytes === 2) out.writeUInt16LE(total - prefix, 8);
  else out.writeUInt32LE(total - prefix, 8);
  text.copy(out, prefix);
  out[total - 1] = 0x0a;
  return out;
}
