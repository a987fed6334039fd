import { basename } from 'node:path';
import { decodeNpy, decodeNpyBody, encodeNpyParts, type NdArray, type NpyHeader, npyHeader } from './npy.ts';
import { npyHeaderEnd } from './npy-header.ts';
import { type ZipEntry, type ZipReadOptions, ZipReader, ZipWriter } from './zip.ts';
import { METHOD_STORED } from './zip-records.ts';

export interface NpzMember {
  /** The key: the member's file name without '.npy'. */
  name: string;
  dtype: string;
  shape: number[];
  fortranOrder: boolean;
  /** An object array; get() refuses it, since unpickling runs arbitrary code. */
  pickled: boolean;
  /** Deflated in the archive (np.savez_compressed) rather than stored (np.savez). */
  compressed: boolean;
  /** Size of the member's .npy (header and data) once uncompressed: what get() reads. */
  bytes: number;
}

export interface NpzFile {
  path: string;
  members: NpzMember[];
  keys: string[];
  has(key: string): boolean;
  /** Reads and decodes one member; throws for missing or pickled members and corrupt data. */
  get(key: string): NdArray;
  /**
   * What get() returns, read off the event loop in parallel chunks into a buffer holding only the
   * data: the fast way to load large members.
   */
  load(key: string): Promise<NdArray>;
  /** Releases the file; get() fails afterwards, arrays already returned stay valid. */
  close(): Promise<void>;
}

const NPY_SUFFIX = '.npy';
/** Covers the header of nearly any .npy in one read. */
const HEADER_GUESS_BYTES = 4096;

/**
 * Opens an .npz (as written by np.savez or np.savez_compressed), reading only the central
 * directory and each member's .npy header. get() then reads a member on demand into its own
 * buffer, so stored members decode as zero-copy typed-array views.
 */
export async function readNpz(path: string, options: ZipReadOptions = {}): Promise<NpzFile> {
  const zip = await ZipReader.open(path, options);
  const file = basename(path);
  const entries = new Map<string, ZipEntry>();
  const headers = new Map<string, NpyHeader>();
  const members: NpzMember[] = [];
  try {
    for (const entry of zip.entries) {
      if (!entry.name.endsWith(NPY_SUFFIX)) continue;
      const key = entry.name.slice(0, -NPY_SUFFIX.length);
      const header = readHeader(zip, entry, `${file}: member "${entry.name}"`);
      entries.set(key, entry);
      headers.set(key, header);
      members.push({
        name: key,
        dtype: header.dtype,
        shape: header.shape,
        fortranOrder: header.fortranOrder,
        pickled: header.pickled,
        compressed: entry.method !== METHOD_STORED,
        bytes: entry.size,
      });
    }
  } catch (error) {
    await zip.close();
    throw error;
  }
  const find = (key: string) => {
    const entry = entries.get(key);
    const header = headers.get(key);
    if (!entry || !header) throw new Error(`${file}: no member "${key}" (has ${members.map((m) => m.name).join(', ')})`);
    const label = `${file}: member "${entry.name}"`;
    if (header.pickled) throw new Error(`${label}: is a pickled object array (dtype ${header.dtype}); refusing to unpickle it`);
    return { entry, header, label };
  };
  return {
    path,
    members,
    keys: members.map((m) => m.name),
    has: (key) => headers.has(key),
    get(key) {
      const { entry, label } = find(key);
      return decodeNpy(zip.read(entry), label);
    },
    async load(key) {
      const { entry, header, label } = find(key);
      return decodeNpyBody(header, await zip.readFrom(entry, header.dataOffset), label);
    },
    close: () => zip.close(),
  };
}

function readHeader(zip: ZipReader, entry: ZipEntry, label: string): NpyHeader {
  let prefix = zip.readPrefix(entry, HEADER_GUESS_BYTES);
  const headerEnd = npyHeaderEnd(prefix, label);
  if (headerEnd > prefix.length) prefix = zip.readPrefix(entry, headerEnd);
  return npyHeader(prefix, label);
}

/**
 * Writes arrays as an .npz that numpy.load reads (each key becomes '<key>.npy'), deflated when
 * `compress` (like np.savez_compressed). Atomic: `path` only ever holds a complete archive.
 */
export async function writeNpz(
  path: string,
  arrays: Record<string, NdArray>,
  options: { compress?: boolean } = {},
): Promise<void> {
  const zip = await ZipWriter.create(path);
  try {
    for (const [key, array] of Object.entries(arrays)) {
      const name = `${key}${NPY_SUFFIX}`;
      await zip.add(name, encodeNpyParts(array, `${basename(path)}: member "${name}"`), { compress: options.compress });
    }
    await zip.close();
  } catch (error) {
    await zip.abort();
    throw error;
  }
}
