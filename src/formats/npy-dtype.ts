/** A numpy dtype we can decode: kind, byte order and item size in bytes. */
export interface NpyDtype {
  /** f float, i signed int, u unsigned int, b bool, U fixed-width UTF-32 text. */
  kind: 'f' | 'i' | 'u' | 'b' | 'U';
  /** '|' only for one-byte types, where byte order does not apply. */
  byteOrder: '<' | '>' | '|';
  itemsize: number;
}

export const NATIVE_ORDER: '<' | '>' = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? '<' : '>';

const SIMPLE = /^([<>|])([fiub])(\d+)$/;
const UNICODE = /^([<>])U(\d+)$/;
const SIZES: Record<string, readonly number[]> = { f: [2, 4, 8], i: [1, 2, 4, 8], u: [1, 2, 4, 8], b: [1] };

/** Parses a numpy descr such as '<f4', '|b1' or '>U12'; undefined when we cannot decode it. */
export function parseDtype(descr: string): NpyDtype | undefined {
  const unicode = UNICODE.exec(descr);
  if (unicode) {
    const chars = Number(unicode[2]);
    // U0 would give zero-byte items, letting a huge shape through the size check.
    if (chars < 1) return undefined;
    return { kind: 'U', byteOrder: unicode[1] as '<' | '>', itemsize: 4 * chars };
  }
  const simple = SIMPLE.exec(descr);
  if (!simple) return undefined;
  const kind = simple[2] as 'f' | 'i' | 'u' | 'b';
  const itemsize = Number(simple[3]);
  if (!SIZES[kind]!.includes(itemsize)) return undefined;
  if (simple[1] === '|' && itemsize !== 1) return undefined;
  return { kind, byteOrder: simple[1] as '<' | '>' | '|', itemsize };
}

/** Whether data in this byte order can be used without swapping. */
export function isNativeOrder(dtype: NpyDtype): boolean {
  return dtype.itemsize === 1 || dtype.byteOrder === NATIVE_ORDER;
}

/** Object items ('|O') are pickled Python objects; we never unpickle. */
export function isObjectDescr(descr: string): boolean {
  return /^[<>|=]?O\d*$/.test(descr);
}
