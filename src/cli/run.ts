import { ARTIFACT_KINDS, type ArtifactKind } from '../domain/artifacts.ts';
import type { DownloadedFile, NodeReconClient, RunView } from '../sdk/node.ts';
import { parseCommand, parseSets } from './args.ts';
import { type Connection, connectOrEmbed, remote } from './connect.ts';
import { formatBytes } from '../sdk/format.ts';
import { expandInputs } from './inputs.ts';
import { RunProgressDisplay } from './run-progress.ts';
import { HELP, printHelp } from './usage.ts';

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/** `recon run <files|folders…>` */
export async function runCommand(args: string[]): Promise<number> {
  const { values, positionals, help } = parseCommand(
    'run',
    args,
    {
      engine: { type: 'string' },
      set: { type: 'string', multiple: true },
      webhook: { type: 'string' },
      wait: { type: 'boolean' },
      out: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      json: { type: 'boolean' },
    },
    HELP.run,
    { min: 1 },
  );
  if (help) return printHelp(HELP.run);
  const settings = parseSets(values.set, HELP.run);
  const files = await expandInputs(positionals, HELP.run);
  const json = values.json === true;
  const connection = await connectOrEmbed();
  const display = json ? undefined : new RunProgressDisplay({ verbose: values.verbose === true });
  try {
    if (connection.embedded) display?.line(`No RECON_URL: started an embedded server (data in ${connection.dataDir})`);
    const { client } = connection;
    const run = await client.createRun({
      ...(values.engine && { engine: values.engine }),
      ...(Object.keys(settings).length && { settings }),
      ...(values.webhook && { webhookUrl: values.webhook }),
    });
    const bytes = files.reduce((sum, f) => sum + f.bytes, 0);
    display?.line(`Run ${run.runId} · engine ${run.engine} · ${files.length} images (${formatBytes(bytes)})`);
    display?.follow(run);
    await client.uploadImages(
      run.runId,
      files.map((f) => f.path),
      { ...(display && { onProgress: (p) => display.upload(p) }) },
    );
    display?.uploaded(files.length, bytes);
    const queued = await client.process(run.runId);
    const wait = values.wait === true || values.out !== undefined || connection.embedded;
    if (!wait) {
      if (json) print(await client.get(run.runId));
      else {
        display?.line(`  queued${queued.queuePosition ? ` (#${queued.queuePosition} in line)` : ''}`);
        display?.line(`\nFollow it: recon logs ${run.runId} -f   ·   recon status ${run.runId}`);
      }
      return 0;
    }
    return await follow(connection, run.runId, { json, display, out: values.out });
  } finally {
    await connection.close();
  }
}

/** `recon rerun <runId>` */
export async function rerunCommand(args: string[]): Promise<number> {
  const { values, positionals, help } = parseCommand(
    'rerun',
    args,
    {
      set: { type: 'string', multiple: true },
      engine: { type: 'string' },
      wait: { type: 'boolean' },
      out: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      json: { type: 'boolean' },
    },
    HELP.rerun,
    { min: 1, max: 1 },
  );
  if (help) return printHelp(HELP.rerun);
  const settings = parseSets(values.set, HELP.rerun);
  const json = values.json === true;
  const connection = remote();
  const run = await connection.client.rerun(positionals[0]!, {
    ...(Object.keys(settings).length && { settings }),
    ...(values.engine && { engine: values.engine }),
  });
  const display = json ? undefined : new RunProgressDisplay({ verbose: values.verbose === true });
  display?.line(`Run ${run.runId} · rerun of ${positionals[0]} · engine ${run.engine} · ${run.images.length} images`);
  if (!values.wait && values.out === undefined) {
    if (json) print(run);
    else display?.line(`\nFollow it: recon logs ${run.runId} -f   ·   recon status ${run.runId}`);
    return 0;
  }
  return follow(connection, run.runId, { json, display, out: values.out });
}

/** Waits for the run with the progress display; downloads artifacts to `out` on success. */
async function follow(
  connection: Connection,
  runId: string,
  options: { json: boolean; display: RunProgressDisplay | undefined; out: string | undefined },
): Promise<number> {
  const { client } = connection;
  const { display } = options;
  const stop = new AbortController();
  const onSignal = () => stop.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  let final: RunView;
  try {
    final = await client.wait(runId, {
      signal: stop.signal,
      ...(display && { onEvent: (e) => display.event(e), onFallback: (e) => display.fallback(e) }),
    });
  } catch (error) {
    if (!stop.signal.aborted) throw error;
    display?.line(
      connection.embedded
        ? `\nInterrupted; the run resumes the next time a server starts on ${connection.dataDir}.`
        : `\nStopped following. The run goes on: recon status ${runId}  ·  recon cancel ${runId}`,
    );
    return 130;
  } finally {
    process.off('SIGINT', onSignal);
  }
  const code = display ? display.finish(final) : final.status === 'completed' ? 0 : 1;
  let files: DownloadedFile[] | undefined;
  if (options.out !== undefined && final.status === 'completed') {
    files = await downloadAll(client, final, `${options.out.replace(/\/+$/, '')}/`, display);
  }
  if (options.json) print(files ? { ...final, files } : final);
  else if (code === 0 && !files) {
    display?.line(
      connection.embedded
        ? `Files: ${connection.dataDir}/runs/${runId}/ (or add --out DIR)`
        : `Download: recon download ${runId} --out DIR`,
    );
  }
  return code;
}

export async function downloadAll(
  client: NodeReconClient,
  run: RunView,
  out: string,
  display?: RunProgressDisplay,
  types: ArtifactKind[] = ARTIFACT_KINDS.filter((kind) => run.artifacts[kind]),
): Promise<DownloadedFile[]> {
  // A single artifact may go to a file name (one with an extension); otherwise `out` is a folder.
  const dir = types.length === 1 && /\.[a-z0-9]+$/i.test(out) ? out : `${out.replace(/\/+$/, '')}/`;
  const files: DownloadedFile[] = [];
  for (const type of types) {
    const file = await client.downloadTo(run.runId, type, dir);
    display?.line(`  ${type.padEnd(12)} ${file.path} (${formatBytes(file.bytes)})`);
    files.push(file);
  }
  return files;
}
