import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface SubModel {
  path: string;
  registeredImages: number;
}

/** The mapper's numbered sub-model folders under `sparsePath`, most registered images first. */
export async function listSubModels(sparsePath: string): Promise<SubModel[]> {
  const entries = await readdir(sparsePath, { withFileTypes: true }).catch(() => []);
  const models: SubModel[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || !/^\d+$/.test(entry.name)) continue;
    const path = join(sparsePath, entry.name);
    const registeredImages = await countRegisteredImages(path);
    if (registeredImages !== undefined) models.push({ path, registeredImages });
  }
  // Ties go to the lower number: COLMAP numbers sub-models in the order it built them.
  return models.sort((a, b) => b.registeredImages - a.registeredImages || Number(baseName(a.path)) - Number(baseName(b.path)));
}

/** images.bin starts with the number of registered images as a little-endian uint64. */
async function countRegisteredImages(modelPath: string): Promise<number | undefined> {
  const file = await open(join(modelPath, 'images.bin')).catch(() => undefined);
  if (!file) return undefined;
  try {
    const header = Buffer.alloc(8);
    const { bytesRead } = await file.read(header, 0, 8, 0);
    return bytesRead === 8 ? Number(header.readBigUInt64LE(0)) : undefined;
  } finally {
    await file.close();
  }
}

const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
