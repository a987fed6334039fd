import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listSubModels } from '../../src/engines/colmap/models.ts';

describe('COLMAP sub-models', () => {
  it('lists numbered sub-models, most registered images first', async () => {
    const sparse = await mkdtemp(join(tmpdir(), 'recon-submodels-'));
    try {
      const counts: Record<string, number> = { '0': 4, '1': 9, '2': 9, '3': 2 };
      for (const [name, count] of Object.entries(counts)) {
        await mkdir(join(sparse, name));
        const header = Buffer.alloc(8);
        header.writeBigUInt64LE(BigInt(count));
        await writeFile(join(sparse, name, 'images.bin'), header);
      }
      await mkdir(join(sparse, 'notes'));
      await mkdir(join(sparse, '4')); // a folder without a model

      const models = await listSubModels(sparse);
      assert.deepEqual(
        models.map((m) => [m.path.slice(sparse.length + 1), m.registeredImages]),
        [
          ['1', 9],
          ['2', 9],
          ['0', 4],
          ['3', 2],
        ],
      );
    } finally {
      await rm(sparse, { recursive: true, force: true });
    }
  });

  it('finds none where the mapper wrote nothing', async () => {
    assert.deepEqual(await listSubModels(join(tmpdir(), 'recon-no-such-folder')), []);
  });
});
