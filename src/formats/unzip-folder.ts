import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { type ZipReadOptions, ZipReader } from './zip-reader.ts';

/**
 * Extracts every file of `zipPath` under `destDir` and returns their names. A member whose name
 * would land outside `destDir` (absolute, or with `..` parts) is refused, not extracted.
 */
export async function unzipToFolder(zipPath: string, destDir: string, options: ZipReadOptions = {}): Promise<string[]> {
  const zip = await ZipReader.open(zipPath, options);
  try {
    const names: string[] = [];
    for (const entry of zip.entries) {
      if (entry.name.endsWith('/')) continue;
      const clean = normalize(entry.name);
      if (clean.startsWith(sep) || clean === '..' || clean.startsWith(`..${sep}`) || /^[A-Za-z]:/.test(clean)) {
        throw new Error(`${zipPath}: member "${entry.name}" points outside the folder`);
      }
      const target = join(destDir, clean);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, zip.read(entry));
      names.push(entry.name);
    }
    return names;
  } finally {
    await zip.close();
  }
}
