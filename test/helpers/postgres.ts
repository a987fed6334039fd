import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Finds the PostgreSQL server binaries (Debian keeps them out of PATH). */
async function pgBin(name: string): Promise<string> {
  for (const dir of ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin', '/usr/local/bin', '/usr/bin']) {
    const path = join(dir, name);
    if (await run(path, ['--version']).then(() => true, () => false)) return path;
  }
  throw new Error(`${name} not found: install PostgreSQL (apt-get install postgresql)`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Postgres refuses to run as root; as root, run its binaries as the `postgres` user. */
function asDbUser(binary: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
}

export interface TestPostgres {
  url: string;
  stop(): Promise<void>;
}

/** A throw-away Postgres cluster on a free port, from the installed initdb/pg_ctl. */
export async function startPostgres(): Promise<TestPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'recon-pg-'));
  await chmod(dir, 0o777);
  const data = join(dir, 'data');
  const port = await freePort();
  const [initdb, initArgs] = asDbUser(await pgBin('initdb'), ['-D', data, '-U', 'recon', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  await run(initdb, initArgs);
  const pgCtl = await pgBin('pg_ctl');
  const [ctl, ctlArgs] = asDbUser(pgCtl, [
    '-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -h 127.0.0.1 -c fsync=off -c max_connections=100`, 'start',
  ]);
  await run(ctl, ctlArgs);
  const url = `postgres://recon@127.0.0.1:${port}/postgres`;
  return {
    url,
    async stop() {
      const [stopCmd, stopArgs] = asDbUser(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
      await run(stopCmd, stopArgs).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh database in the cluster, so tests in one file don't see each other's rows. */
export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  await client.query(`create database ${pg.escapeIdentifier(name)}`);
  await client.end();
  return serverUrl.replace(/\/[^/]*$/, `/${name}`);
}

