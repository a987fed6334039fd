import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** Paths in fresh folders (removed after the file's tests), so error messages show just `name`. */
export function tempPaths(prefix: string): (name: string) => string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let counter = 0;
  return (name) => {
    const folder = join(dir, String(counter++));
    mkdirSync(folder);
    return join(folder, name);
  };
}
