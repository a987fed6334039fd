import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export class DataDirLockedError extends Error {}

async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A process killed with SIGKILL lingers as a zombie until reaped; it holds nothing any more.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return !/^\d+ \(.*\) Z /s.test(stat);
}

/**
 * Takes the data folder for this process alone. PGlite is a single-process database: a second
 * process opening the same folder would corrupt it, so it must fail here with a clear message.
 * A lock left by a process that no longer exists (kill -9) is taken over.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });
  const lockPath = join(dataDir, 'recon.lock');
  for (let tries = 0; tries < 3; tries++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return async () => {
        await rm(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder !== process.pid && (await isAlive(holder))) {
        throw new DataDirLockedError(
          `The data folder ${dataDir} is in use by another Recon process (pid ${holder}). ` +
            'Stop it first, or point this one at another folder with RECON_DATA_DIR. ' +
            'To share one database between processes, use Postgres (DATABASE_URL).',
        );
      }
      await rm(lockPath, { force: true });
    }
  }
  throw new DataDirLockedError(`Could not lock the data folder ${dataDir}`);
}
