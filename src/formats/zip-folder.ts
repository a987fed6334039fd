import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { type ZipEntryOptions, ZipWriter } from './zip-writer.ts';

/**
 * Zips every file under `sourceDir` (recursively, sorted, names relative to it with '/') into
 * `destZip`, atomically. Entries are deflated unless `compress: false`. Symbolic links and other
 * special files are refused rather than followed out of the folder.
 */
export async function zipFolder(sourceDir: string, destZip: string, options: ZipEntryOptions = {}): Promise<void> {
  const found = await readdir(sourceDir, { recursive: true, withFileTypes: true });
  const files: { name: string; path: string }[] = [];
  for (const dirent of found) {
    if (dirent.isDirectory()) continue;
    const path = join(dirent.parentPath, dirent.name);
    if (!dirent.isFile()) throw new Error(`zipFolder: ${path} is not a regular file or folder`);
    files.push({ name: relative(sourceDir, path).split(sep).join('/'), path });
  }
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const zip = await ZipWriter.create(destZip);
  try {
    for (const file of files) await zip.addFile(file.name, file.path, { compress: true, ...options });
    await zip.close();
  } catch (error) {
    await zip.abort();
    throw error;
  }
}
