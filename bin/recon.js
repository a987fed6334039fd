#!/usr/bin/env node
// Entry for `npx recon` / `npm link`: re-exec the TypeScript CLI under the project's Node 24.
// The child is the real program, so signals sent to this process (a process manager, `docker
// stop`, `kill <pid>`) are passed on to it, and its exit status becomes ours.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV, NODE_FLAGS } from './runtime.js';

const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP'];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundled = join(root, 'node_modules', 'node', 'bin', 'node');
const node = existsSync(bundled) ? bundled : process.execPath;
const child = spawn(node, [...NODE_FLAGS, join(root, 'src', 'main.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, ...ENV },
});
for (const signal of FORWARDED) process.on(signal, () => child.kill(signal));
child.on('error', (error) => {
  console.error(`recon: could not start ${node}: ${error.message}`);
  process.exit(1);
});
// A child ended by a signal exits the way shells report it: 128 + the signal's number.
child.on('exit', (code, signal) => process.exit(signal ? 128 + constants.signals[signal] : (code ?? 1)));
