import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from './args.ts';

export const IMAGE_EXTENSIONS = /\.(jpe?g|png|webp|heic|heif)$/i;

/** Image files named directly, plus the images inside named folders (not recursive), sorted by name per folder. */
export async function expandInputs(paths: string[], usage?: string): Promise<{ path: string; bytes: number }[]> {
  const files: { path: string; bytes: number }[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new UsageError(`${path}: no such file or folder`, usage);
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((name) => IMAGE_EXTENSIONS.test(name)).sort();
      if (!names.length) throw new UsageError(`${path}: no images in this folder (looked for .jpg, .png, .webp, .heic)`, usage);
      for (const name of names) files.push({ path: join(path, name), bytes: (await stat(join(path, name))).size });
    } else {
      files.push({ path, bytes: info.size });
    }
  }
  return files;
}
