import { parseArgs } from 'node:util';
import { runDemo } from './cli/demo.ts';
import { inspectFile, printSummary } from './cli/inspect.ts';
import { ConfigError, loadConfig } from './config.ts';
import { DataDirLockedError } from './db/data-dir-lock.ts';
import { createLogger } from './logger.ts';
import { startRecon } from './recon.ts';

const USAGE = `recon — photos in, 3D scenes out

Usage:
  recon serve [--port N] [--host H] [--data DIR] [--no-workers]
  recon worker                      process queued runs (needs DATABASE_URL)
  recon demo [--exit]               reconstruct the bundled photos with COLMAP
  recon inspect FILE [--json]       summarise an .npz, a .glb or a COLMAP model folder
  recon --help

Environment: RECON_DATA_DIR, PORT, HOST, DATABASE_URL, RECON_LOG_LEVEL, MAX_IMAGES, MAX_FILE_BYTES, …`;

async function serve(args: string[], workerOnly: boolean) {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      'no-workers': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  const config = loadConfig({
    ...process.env,
    ...(values.port && { PORT: values.port }),
    ...(values.host && { HOST: values.host }),
    ...(values.data && { RECON_DATA_DIR: values.data }),
  });
  if (workerOnly && !config.databaseUrl) {
    throw new ConfigError('recon worker shares a database with the server: set DATABASE_URL=postgres://…');
  }
  const log = createLogger(config.logLevel);
  const recon = await startRecon(config, { log, workers: !values['no-workers'] });
  if (!workerOnly) {
    const url = await recon.listen();
    log.info({ url, dataDir: config.dataDir, database: recon.store.kind }, `Recon is listening on ${url}`);
  } else {
    log.info({ engines: recon.engines.list().map((e) => e.id) }, 'worker started');
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await recon.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

async function inspect(args: string[]) {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  if (positionals.length !== 1) {
    console.error('Usage: recon inspect FILE [--json]');
    process.exit(2);
  }
  const path = positionals[0]!;
  const result = await inspectFile(path).catch((error: Error) => {
    console.error(`recon: ${error.message}`);
    process.exit(1);
  });
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else printSummary(path, result);
}

async function main(argv: string[]) {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest, false);
    case 'worker':
      return serve(rest, true);
    case 'demo':
      return runDemo({ keepServing: process.stdout.isTTY === true && !rest.includes('--exit') });
    case 'inspect':
      return inspect(rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      return console.log(USAGE);
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((error) => {
  if (error instanceof ConfigError || error instanceof DataDirLockedError) {
    console.error(`recon: ${error.message}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
