import { enableCompileCache } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KeysCliError, UsageError } from './cli/args.ts';
import { closeOnSignals } from './cli/shutdown.ts';
import { buildWebAppInBackground } from './cli/web-app-build.ts';
import { ConfigError, loadConfig } from './config.ts';
import { DataDirLockedError } from './db/data-dir-lock.ts';
import { createLogger } from './logger.ts';
import { HELP } from './cli/usage.ts';
import { ReconApiError, ReconConnectionError } from './sdk/client.ts';

// V8's compiled code for our modules and their packages, kept between runs: loading the server's
// thousand-odd modules is most of a restart, and compiling them the larger part of that.
enableCompileCache(join(import.meta.dirname, '..', 'node_modules', '.cache', 'recon', 'compile'));

type Command = (args: string[]) => Promise<unknown>;
/**
 * Each command's module is loaded when that command runs: together they take over a second to
 * load (the engine registry alone most of it), and every CLI call paid for all of them.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./cli/run.ts')).runCommand,
  rerun: async () => (await import('./cli/run.ts')).rerunCommand,
  ls: async () => (await import('./cli/runs.ts')).lsCommand,
  status: async () => (await import('./cli/runs.ts')).statusCommand,
  logs: async () => (await import('./cli/runs.ts')).logsCommand,
  download: async () => (await import('./cli/runs.ts')).downloadCommand,
  cancel: async () => (await import('./cli/runs.ts')).cancelCommand,
  engines: async () => (await import('./cli/engines.ts')).enginesCommand,
  workers: async () => (await import('./cli/workers.ts')).workersCommand,
  keys: async () => (await import('./cli/keys.ts')).keysCommand,
  inspect: async () => (await import('./cli/inspect.ts')).inspectCommand,
  blueprint: async () => (await import('./cli/blueprint.ts')).blueprintCommand,
};

const USAGE = `recon — photos in, 3D scenes out

Usage:
  recon run <files|folders…> [--engine ID] [--set key=value …] [--webhook URL] [--wait] [--out DIR] [--json]
                                    upload images and reconstruct them, with live progress
  recon ls [--status S] [--engine ID] [--limit N]   list runs
  recon status <runId>              a run's status, progress, error and artifacts
  recon logs <runId> [-f]           its log lines and status changes (-f: follow)
  recon download <runId> [--type T] [--out DIR]     save its artifacts
  recon cancel <runId>              stop a run
  recon rerun <runId> [--set key=value …] [--wait]  the same images again, other settings
  recon engines [--json]            engines, whether each is usable (and why not), limits, settings
  recon keys create|list|revoke     API keys (recon keys --help)
  recon inspect <file> [--json]     summarise an .npz, a .glb or a COLMAP model folder
  recon demo [--splat] [--exit]     reconstruct the bundled photos with COLMAP (--splat: train Gaussian splats)
  recon blueprint <command>         defect blueprints: photos + defects → labelled dataset (recon blueprint --help)
  recon serve [--port N] [--host H] [--data DIR] [--no-workers] [--insecure-no-auth]
  recon worker                      process queued runs (needs DATABASE_URL; S3_BUCKET on another machine)
  recon workers [--json]            the live workers: engines, runs in progress, last heartbeat
  recon <command> --help

Client commands talk to RECON_URL (default http://127.0.0.1:3000) with RECON_API_KEY as the
Bearer key; \`recon run\` without RECON_URL starts an embedded server for the command.
--json prints only machine-readable output. Exit codes: 0 success, 1 run failed or request
refused, 2 usage error.

Server environment: RECON_DATA_DIR, PORT, HOST, DATABASE_URL, RECON_API_KEYS, RECON_LOG_LEVEL,
MAX_IMAGES, MAX_FILE_BYTES, … (see README)`;

async function serve(args: string[], workerOnly: boolean) {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      'no-workers': { type: 'boolean' },
      'insecure-no-auth': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  const config = loadConfig({
    ...process.env,
    ...(values.port && { PORT: values.port }),
    ...(values.host && { HOST: values.host }),
    ...(values.data && { RECON_DATA_DIR: values.data }),
    ...(values['insecure-no-auth'] && { RECON_INSECURE_NO_AUTH: '1' }),
  });
  if (workerOnly && !config.databaseUrl) {
    throw new ConfigError('recon worker shares a database with the server: set DATABASE_URL=postgres://…');
  }
  const log = createLogger(config.logLevel);
  // Loaded on demand: the server's modules take seconds to load, client commands need none of them.
  const { startRecon } = await import('./recon.ts');
  const recon = await startRecon(config, { log, workers: !values['no-workers'], sweepBlobs: !workerOnly });
  if (!workerOnly) {
    buildWebAppInBackground(log);
    const url = await recon.listen();
    log.info({ url, dataDir: config.dataDir, database: recon.store.kind }, `Recon is listening on ${url}`);
  } else {
    await recon.takeJobs();
    if (!config.s3) log.warn('no S3_BUCKET: this worker keeps run files in its own data folder, which only works on the server’s machine and folder');
    log.info({ name: config.workers.name, engines: recon.worker?.engines() ?? [] }, 'worker started');
  }
  closeOnSignals(() => recon.close(), log);
}

/** Runs one command; resolves to its exit code (undefined: keep running, as `serve` does). */
async function main(argv: string[]): Promise<unknown> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest, false);
    case 'worker':
      return serve(rest, true);
    case 'demo':
      if (rest.includes('--help') || rest.includes('-h')) return console.log(HELP.demo);
      return (await import('./cli/demo.ts')).runDemo({ keepServing: process.stdout.isTTY === true && !rest.includes('--exit'), splat: rest.includes('--splat') });
    case 'help':
      if (rest[0] && rest[0] in HELP) return console.log(HELP[rest[0] as keyof typeof HELP]);
      if (rest[0]) return main([rest[0], '--help']);
      return console.log(USAGE);
    case undefined:
    case '--help':
    case '-h':
      return console.log(USAGE);
    default: {
      const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
      if (!load) throw new UsageError(`Unknown command "${command}".`, USAGE);
      return (await load())(rest);
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (error) => {
    if (error instanceof UsageError) {
      console.error(`${error.message}${error.usage ? `\n\n${error.usage}` : ''}`);
      process.exit(2);
    }
    if (typeof error?.code === 'string' && error.code.startsWith('ERR_PARSE_ARGS')) {
      console.error(`recon: ${error.message}\nSee: recon ${process.argv[2] ?? ''} --help`);
      process.exit(2);
    }
    if (error instanceof ConfigError || error instanceof DataDirLockedError || error instanceof KeysCliError) {
      console.error(`recon: ${error.message}`);
      process.exit(2);
    }
    if (error instanceof ReconApiError) {
      // A request the server found malformed (400) is the caller's mistake, like a usage error.
      console.error(`recon: ${error.detail} (HTTP ${error.status} ${error.title})`);
      const fields = Array.isArray(error.extra.errors) ? (error.extra.errors as { path?: string; message?: string }[]) : [];
      for (const f of fields.slice(0, 20)) if (!error.detail.includes(`${f.message}`)) console.error(`  ${f.path ?? ''}: ${f.message ?? ''}`);
      process.exit(error.status === 400 ? 2 : 1);
    }
    if (error instanceof ReconConnectionError) {
      console.error(`recon: ${error.message}\nStart a server with \`recon serve\`, or point RECON_URL at one.`);
      process.exit(1);
    }
    console.error(error);
    process.exit(1);
  },
);
