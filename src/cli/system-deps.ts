import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const runs = (command: string, args: string[]) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

/**
 * Makes sure a Debian package's program is there: installs it with apt-get when running as root
 * on Debian/Ubuntu, otherwise says how. Returns whether the program can be run.
 */
export function ensureDebianPackage(program: string, probeArgs: string[], pkg: string): boolean {
  if (runs(program, probeArgs)) return true;
  const root = process.getuid?.() === 0;
  if (!root || !existsSync('/usr/bin/apt-get')) {
    console.error(`${program} is not installed. Install it with: sudo apt-get install ${pkg}`);
    return false;
  }
  console.log(`Installing ${pkg} with apt-get (one time)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const installed = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { stdio: 'inherit', env });
  return installed.status === 0 && runs(program, probeArgs);
}
