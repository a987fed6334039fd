import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { type ZipReadOptions, ZipReader, ZipWriter, zipFolder } from '../../src/formats/zip.ts';
import { tempPaths } from '../helpers/temp-paths.ts';

const tempPath = tempPaths('recon-zip-test-');

/** Bytes that barely compress, from a fixed seed. */
function noise(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

async function writeZip(path: string, entries: Record<string, { data: Uint8Array; compress?: boolean }>): Promise<void> {
  const zip = await ZipWriter.create(path);
  for (const [name, { data, compress }] of Object.entries(entries)) await zip.add(name, data, { compress });
  await zip.close();
}

async function readAll(path: string, options?: ZipReadOptions): Promise<Map<string, Uint8Array>> {
  const zip = await ZipReader.open(path, options);
  try {
    return new Map(zip.entries.map((e) => [e.name, zip.read(e)]));
  } finally {
    await zip.close();
  }
}

/** Offset of the central directory record of `name` in an archive's bytes. */
function centralRecord(bytes: Buffer, name: string): number {
  for (let at = bytes.indexOf('PK\x01\x02', 0, 'latin1'); at >= 0; at = bytes.indexOf('PK\x01\x02', at + 1, 'latin1')) {
    if (bytes.toString('utf8', at + 46, at + 46 + bytes.readUInt16LE(at + 28)) === name) return at;
  }
  throw new Error(`no central record for ${name}`);
}

function localRecord(bytes: Buffer, name: string): number {
  return bytes.readUInt32LE(centralRecord(bytes, name) + 42);
}

describe('zip round trips', () => {
  it('stores and deflates entries, from one buffer or several parts', async () => {
    const path = tempPath('mixed.zip');
    const compressible = Buffer.alloc(3_000_000, 'abcabcabd');
    const zip = await ZipWriter.create(path);
    await zip.add('stored.bin', noise(100_000));
    await zip.add('deflated.txt', compressible, { compress: true });
    await zip.add('parts/joined.bin', [Buffer.from('head'), noise(5000, 2), Buffer.from('tail')]);
    await zip.add('empty', new Uint8Array(0));
    await zip.add('empty-deflated', new Uint8Array(0), { compress: true });
    await zip.add('données/ünïcödé.txt', Buffer.from('ok'));
    await zip.close();

    const reader = await ZipReader.open(path);
    const byName = new Map(reader.entries.map((e) => [e.name, e]));
    assert.deepEqual([...byName.keys()], ['stored.bin', 'deflated.txt', 'parts/joined.bin', 'empty', 'empty-deflated', 'données/ünïcödé.txt']);
    assert.equal(byName.get('stored.bin')!.method, 0);
    assert.equal(byName.get('deflated.txt')!.method, 8);
    assert.ok(byName.get('deflated.txt')!.compressedSize < compressible.length / 100);
    assert.equal(byName.get('deflated.txt')!.crc32, crc32(compressible));
    assert.ok(Buffer.from(reader.read(byName.get('deflated.txt')!)).equals(compressible));
    assert.ok(Buffer.from(reader.read(reader.get('stored.bin')!)).equals(noise(100_000)));
    assert.equal(Buffer.from(reader.read(reader.get('parts/joined.bin')!)).toString('latin1'), `head${noise(5000, 2).toString('latin1')}tail`);
    assert.equal(reader.read(reader.get('empty')!).length, 0);
    assert.equal(reader.read(reader.get('empty-deflated')!).length, 0);
    assert.equal(Buffer.from(reader.read(reader.get('données/ünïcödé.txt')!)).toString(), 'ok');
    await reader.close();
    assert.throws(() => reader.read(byName.get('stored.bin')!), /mixed\.zip: member "stored\.bin": the archive is closed/);
  });

  it('reads only the leading bytes of an entry with readPrefix', async () => {
    const path = tempPath('prefix.zip');
    const data = Buffer.concat([Buffer.from('HEADER!'), Buffer.alloc(20_000_000)]);
    await writeZip(path, {
      'stored.bin': { data },
      'deflated.bin': { data, compress: true },
      'short.bin': { data: Buffer.from('abc'), compress: true },
      'noise.bin': { data: noise(200_000, 5), compress: true },
    });
    const reader = await ZipReader.open(path);
    for (const name of ['stored.bin', 'deflated.bin']) {
      const prefix = reader.readPrefix(reader.get(name)!, 100);
      assert.equal(prefix.length, 100);
      assert.ok(Buffer.from(prefix).equals(data.subarray(0, 100)));
    }
    assert.equal(Buffer.from(reader.readPrefix(reader.get('short.bin')!, 100)).toString(), 'abc');
    // Barely compressible data needs several compressed chunks to yield the prefix.
    assert.ok(Buffer.from(reader.readPrefix(reader.get('noise.bin')!, 50_000)).equals(noise(50_000, 5)));
    await reader.close();
  });

  it('streams files in with addFile', async () => {
    const source = tempPath('source.bin');
    const data = Buffer.concat([noise(3_000_000, 3), Buffer.alloc(2_000_000, 7)]);
    writeFileSync(source, data);
    const path = tempPath('files.zip');
    const zip = await ZipWriter.create(path);
    await zip.addFile('stored.bin', source);
    await zip.addFile('deflated.bin', source, { compress: true, level: 1 });
    await zip.close();
    const read = await readAll(path);
    assert.ok(Buffer.from(read.get('stored.bin')!).equals(data));
    assert.ok(Buffer.from(read.get('deflated.bin')!).equals(data));
  });

  it('writes ZIP64 records when forced', async () => {
    const path = tempPath('forced64.zip');
    const zip = await ZipWriter.create(path, { forceZip64: true });
    await zip.add('a.bin', noise(1000));
    await zip.add('b.txt', Buffer.alloc(100_000, 'b'), { compress: true });
    await zip.close();
    const bytes = readFileSync(path);
    assert.ok(bytes.includes('PK\x06\x06', 0, 'latin1'), 'ZIP64 end of central directory record');
    assert.ok(bytes.includes('PK\x06\x07', 0, 'latin1'), 'ZIP64 locator');
    assert.equal(bytes.readUInt32LE(centralRecord(bytes, 'b.txt') + 24), 0xffffffff, 'size moved to the ZIP64 extra field');
    const read = await readAll(path);
    assert.ok(Buffer.from(read.get('a.bin')!).equals(noise(1000)));
    assert.ok(Buffer.from(read.get('b.txt')!).equals(Buffer.alloc(100_000, 'b')));
  });

  it('switches to ZIP64 beyond 65535 entries', async () => {
    const path = tempPath('many.zip');
    const count = 70_000;
    const zip = await ZipWriter.create(path);
    for (let i = 0; i < count; i++) await zip.add(`e/${i}`, Buffer.from(String(i * 7)));
    await zip.close();
    const bytes = readFileSync(path);
    assert.equal(bytes.readUInt16LE(bytes.length - 22 + 10), 0xffff, 'classic record defers to ZIP64');
    const reader = await ZipReader.open(path);
    assert.equal(reader.entries.length, count);
    for (const i of [0, 65_535, 65_536, count - 1]) assert.equal(Buffer.from(reader.read(reader.get(`e/${i}`)!)).toString(), String(i * 7));
    await reader.close();
  });
});

describe('zip writer is atomic and careful', () => {
  it('only shows the archive once it is complete', async () => {
    const path = tempPath('atomic.zip');
    const zip = await ZipWriter.create(path);
    await zip.add('a', noise(3_000_000));
    assert.throws(() => readFileSync(path), /ENOENT/);
    await zip.close();
    assert.equal((await readAll(path)).size, 1);
    assert.deepEqual(readdirSync(dirname(path)).filter((f) => f !== 'atomic.zip'), []);
  });

  it('leaves an existing file untouched on abort', async () => {
    const path = tempPath('keep.zip');
    writeFileSync(path, 'previous');
    const zip = await ZipWriter.create(path);
    await zip.add('a', noise(1000));
    await zip.abort();
    assert.equal(readFileSync(path, 'utf8'), 'previous');
    assert.deepEqual(readdirSync(dirname(path)).filter((f) => f !== 'keep.zip'), []);
  });

  it('refuses unsafe and duplicate names without spoiling the archive', async () => {
    const path = tempPath('names.zip');
    const zip = await ZipWriter.create(path);
    await zip.add('ok', Buffer.from('1'));
    for (const name of ['', '/abs', '../up', 'a/../../up', 'back\\slash', 'nul\0']) {
      await assert.rejects(zip.add(name, Buffer.from('x')), /invalid entry name/);
    }
    await assert.rejects(zip.add('ok', Buffer.from('2')), /duplicate entry name "ok"/);
    await zip.close();
    assert.deepEqual([...(await readAll(path)).keys()], ['ok']);
  });

  it('refuses overlapping calls', async () => {
    const zip = await ZipWriter.create(tempPath('overlap.zip'));
    const first = zip.add('a', noise(2_000_000), { compress: true });
    await assert.rejects(zip.add('b', Buffer.from('x')), /one at a time/);
    await first;
    await zip.abort();
  });
});

describe('zipFolder', () => {
  it('packages a folder recursively with sorted, /-separated names', async () => {
    const source = tempPath('model');
    mkdirSync(join(source, 'sparse', '0'), { recursive: true });
    mkdirSync(join(source, 'empty-folder'));
    writeFileSync(join(source, 'sparse', '0', 'points3D.bin'), noise(200_000, 4));
    writeFileSync(join(source, 'sparse', '0', 'cameras.txt'), '# cameras\n1 PINHOLE 518 392 1 1 259 196\n');
    writeFileSync(join(source, 'database.db'), '');
    const path = tempPath('model.zip');
    await zipFolder(source, path);
    const read = await readAll(path);
    assert.deepEqual([...read.keys()], ['database.db', 'sparse/0/cameras.txt', 'sparse/0/points3D.bin']);
    assert.ok(Buffer.from(read.get('sparse/0/points3D.bin')!).equals(noise(200_000, 4)));
    assert.equal(Buffer.from(read.get('sparse/0/cameras.txt')!).toString(), '# cameras\n1 PINHOLE 518 392 1 1 259 196\n');
    assert.equal(read.get('database.db')!.length, 0);
  });

  it('refuses symbolic links and leaves no archive behind', async () => {
    const source = tempPath('linked');
    mkdirSync(source);
    writeFileSync(join(source, 'real.txt'), 'x');
    symlinkSync('/etc/hostname', join(source, 'link'));
    const path = tempPath('linked.zip');
    await assert.rejects(zipFolder(source, path), /link is not a regular file or folder/);
    assert.throws(() => readFileSync(path), /ENOENT/);
  });
});

describe('zip reader refuses corrupt archives, naming the member', () => {
  const build = async (name: string, entries: Record<string, { data: Uint8Array; compress?: boolean }>) => {
    const path = tempPath(name);
    await writeZip(path, entries);
    return { path, bytes: readFileSync(path) };
  };
  const save = (path: string, bytes: Buffer) => {
    writeFileSync(path, bytes);
    return path;
  };
  const zeros = Buffer.alloc(20_000_000);

  it('a file that is not a ZIP at all', async () => {
    await assert.rejects(ZipReader.open(save(tempPath('noise.zip'), noise(5000))), /noise\.zip: not a ZIP archive, or truncated/);
  });

  it('a truncated file', async () => {
    const { path, bytes } = await build('cut.zip', { 'a.bin': { data: noise(10_000) } });
    await assert.rejects(ZipReader.open(save(path, bytes.subarray(0, bytes.length - 30))), /cut\.zip: not a ZIP archive, or truncated/);
  });

  it('an entry whose data runs past the end of the file', async () => {
    const { path, bytes } = await build('past-end.zip', { 'a.bin': { data: noise(10_000) } });
    bytes.writeUInt32LE(bytes.length - 100, centralRecord(bytes, 'a.bin') + 42);
    await assert.rejects(ZipReader.open(save(path, bytes)), /past-end\.zip: member "a\.bin": data runs past the end of the file/);
  });

  it('a CRC mismatch', async () => {
    const { path, bytes } = await build('crc.zip', { 'depth.npy': { data: noise(10_000) } });
    bytes[localRecord(bytes, 'depth.npy') + 30 + 'depth.npy'.length + 5_000]! ^= 1;
    await assert.rejects(readAll(save(path, bytes)), /crc\.zip: member "depth\.npy": CRC-32 mismatch \(expected [0-9a-f]{8}, got [0-9a-f]{8}\)/);
  });

  it('a deflate bomb declaring a small size', async () => {
    const { path, bytes } = await build('bomb.zip', { 'bomb.bin': { data: zeros, compress: true } });
    bytes.writeUInt32LE(1000, centralRecord(bytes, 'bomb.bin') + 24);
    await assert.rejects(readAll(save(path, bytes)), /bomb\.zip: member "bomb\.bin": inflates to more than the declared 1000 bytes \(zip bomb\?\)/);
  });

  it('a declared compression ratio no deflate stream can reach', async () => {
    const { path, bytes } = await build('ratio.zip', { 'r.bin': { data: zeros, compress: true } });
    const record = centralRecord(bytes, 'r.bin');
    bytes.writeUInt32LE(bytes.readUInt32LE(record + 20) * 5000, record + 24);
    await assert.rejects(readAll(save(path, bytes)), /ratio\.zip: member "r\.bin": declares a compression ratio of 5000:1, over the 1100:1 limit/);
  });

  it('an entry over the size limit', async () => {
    const { path } = await build('limit.zip', { 'big.bin': { data: zeros, compress: true } });
    await assert.rejects(
      readAll(path, { maxEntryBytes: 1 << 20 }),
      /limit\.zip: member "big\.bin": declares 20000000 bytes uncompressed, over the 1048576-byte limit/,
    );
  });

  it('corrupt deflate data', async () => {
    const { path, bytes } = await build('garbled.zip', { 'g.bin': { data: Buffer.alloc(10_000, 'abc'), compress: true } });
    const start = localRecord(bytes, 'g.bin') + 30 + 'g.bin'.length;
    bytes.fill(0xff, start, start + 8);
    await assert.rejects(readAll(save(path, bytes)), /garbled\.zip: member "g\.bin": corrupt deflate data/);
  });

  it('a bad local header, encryption, an unknown method, inconsistent stored sizes', async () => {
    const entries = { 'a.bin': { data: noise(100) }, 'b.bin': { data: noise(100) }, 'c.bin': { data: noise(100) }, 'd.bin': { data: noise(100) } };
    const { path, bytes } = await build('headers.zip', entries);
    bytes.writeUInt32LE(0x12345678, localRecord(bytes, 'a.bin'));
    bytes.writeUInt16LE(1, localRecord(bytes, 'b.bin') + 6);
    bytes.writeUInt16LE(12, centralRecord(bytes, 'c.bin') + 10);
    bytes.writeUInt32LE(99, centralRecord(bytes, 'd.bin') + 24);
    const reader = await ZipReader.open(save(path, bytes));
    assert.throws(() => reader.read(reader.get('a.bin')!), /headers\.zip: member "a\.bin": bad local header signature/);
    assert.throws(() => reader.read(reader.get('b.bin')!), /headers\.zip: member "b\.bin": is encrypted/);
    assert.throws(() => reader.read(reader.get('c.bin')!), /headers\.zip: member "c\.bin": unsupported compression method 12/);
    assert.throws(() => reader.read(reader.get('d.bin')!), /headers\.zip: member "d\.bin": stored entry declares 100 bytes but 99 uncompressed/);
    await reader.close();
  });

  it('duplicate names in the central directory', async () => {
    const { path, bytes } = await build('dupes.zip', { 'a.bin': { data: noise(10) }, 'b.bin': { data: noise(10) } });
    bytes.write('a', centralRecord(bytes, 'b.bin') + 46, 'latin1');
    await assert.rejects(ZipReader.open(save(path, bytes)), /dupes\.zip: member "a\.bin": appears more than once/);
  });

  it('a central directory claiming more entries than it holds', async () => {
    const { path, bytes } = await build('count.zip', { 'a.bin': { data: noise(10) } });
    bytes.writeUInt16LE(5000, bytes.length - 22 + 10);
    await assert.rejects(ZipReader.open(save(path, bytes)), /count\.zip: central directory claims 5000 entries/);
  });

  it('a deflated entry whose stream inflates short', async () => {
    const { path, bytes } = await build('short.zip', { 's.bin': { data: Buffer.alloc(50, 'x'), compress: true } });
    const record = centralRecord(bytes, 's.bin');
    bytes.writeUInt32LE(60, record + 24);
    await assert.rejects(readAll(save(path, bytes)), /short\.zip: member "s\.bin": inflates to 50 bytes, not the declared 60/);
  });
});
