#!/usr/bin/env node
// Entry for `npx recon` / `npm link`: re-exec the TypeScript CLI under the project's Node 24.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV, NODE_FLAGS } from './runtime.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundled = join(root, 'node_modules', 'node', 'bin', 'node');
const node = existsSync(bundled) ? bundled : process.execPath;
const result = spawnSync(node, [...NODE_FLAGS, join(root, 'src', 'main.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, ...ENV },
});
process.exit(result.status ?? 1);
