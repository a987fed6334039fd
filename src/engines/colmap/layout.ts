import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { ColmapLayout } from './commands.ts';

export interface PreparedLayout extends ColmapLayout {
  /** COLMAP's name for each input, in input order: its path relative to imagePath. */
  names: string[];
  logsPath: string;
  exportPath: string;
}

/**
 * Lays out a fresh COLMAP workspace in `workDir`. The images stay where they are: imagePath is
 * their deepest common folder and the image list names exactly the run's inputs.
 */
export async function prepareLayout(workDir: string, inputs: string[]): Promise<PreparedLayout> {
  const imagePath = commonFolder(inputs);
  const names = inputs.map((input) => relative(imagePath, input).split(sep).join('/'));
  const layout: PreparedLayout = {
    databasePath: join(workDir, 'database.db'),
    imagePath,
    imageListPath: join(workDir, 'image-list.txt'),
    sparsePath: join(workDir, 'sparse'),
    logsPath: join(workDir, 'logs'),
    exportPath: join(workDir, 'export'),
    names,
  };
  // A retried attempt must not pick up features or models from an earlier one.
  await Promise.all([layout.databasePath, layout.sparsePath, layout.exportPath].map((p) => rm(p, { recursive: true, force: true })));
  await Promise.all([mkdir(layout.sparsePath, { recursive: true }), mkdir(layout.logsPath, { recursive: true })]);
  await writeFile(layout.imageListPath, `${names.join('\n')}\n`);
  return layout;
}

/** The deepest folder holding every path: COLMAP names images relative to it. */
export function commonFolder(paths: string[]): string {
  const split = paths.map((p) => dirname(p).split(sep));
  const first = split[0] ?? [];
  let length = first.length;
  for (const parts of split) {
    let i = 0;
    while (i < length && parts[i] === first[i]) i++;
    length = i;
  }
  return first.slice(0, length).join(sep) || sep;
}
