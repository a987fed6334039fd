import { ARTIFACT_KINDS, type ArtifactKind } from '../domain/artifacts.ts';
import { RUN_STATUSES, type RunStatus } from '../domain/run-status.ts';
import type { RunStreamEvent, RunView } from '../sdk/node.ts';
import { intOption, parseCommand, UsageError } from './args.ts';
import { remote } from './connect.ts';
import { formatAge, formatDuration, percent, table } from './format.ts';
import { downloadAll } from './run.ts';
import { HELP, printHelp } from './usage.ts';

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

const progressCell = (run: RunView) =>
  run.status === 'processing' || run.status === 'fetching'
    ? `${run.stage ?? run.status} ${percent(run.progress)}${run.stage === 'waiting' && run.queuePosition ? ` #${run.queuePosition}` : ''}`
    : '';

const took = (run: RunView) => (run.finishedAt ? formatDuration(Date.parse(run.finishedAt) - Date.parse(run.requestedAt)) : '');

/** `recon ls` */
export async function lsCommand(args: string[]): Promise<number> {
  const { values, help } = parseCommand(
    'ls',
    args,
    { status: { type: 'string' }, engine: { type: 'string' }, limit: { type: 'string' }, offset: { type: 'string' }, json: { type: 'boolean' } },
    HELP.ls,
    { max: 0 },
  );
  if (help) return printHelp(HELP.ls);
  const statuses = values.status?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = statuses?.find((s) => !(RUN_STATUSES as readonly string[]).includes(s));
  if (unknown) throw new UsageError(`recon ls: unknown status "${unknown}" (one of ${RUN_STATUSES.join(', ')})`, HELP.ls);
  const limit = intOption('limit', values.limit, HELP.ls);
  const offset = intOption('offset', values.offset, HELP.ls);
  const list = await remote().client.list({
    ...(statuses && { status: statuses as RunStatus[] }),
    ...(values.engine && { engine: values.engine }),
    ...(limit !== undefined && { limit }),
    ...(offset !== undefined && { offset }),
  });
  if (values.json) {
    print(list);
    return 0;
  }
  if (!list.runs.length) {
    console.log(list.total ? `No runs here (${list.total} in all; lower --offset)` : 'No runs.');
    return 0;
  }
  console.log(
    table(
      ['RUN', 'STATUS', 'ENGINE', 'IMAGES', 'PROGRESS', 'REQUESTED', 'TOOK'],
      list.runs.map((r) => [r.runId, r.status, r.engine, String(r.images.length), progressCell(r), formatAge(r.requestedAt), took(r)]),
    ),
  );
  if (list.total > list.runs.length) console.log(`\n${list.runs.length} of ${list.total} runs (--limit, --offset for more)`);
  return 0;
}

/** `recon status <runId>` */
export async function statusCommand(args: string[]): Promise<number> {
  const { values, positionals, help } = parseCommand('status', args, { json: { type: 'boolean' } }, HELP.status, { min: 1, max: 1 });
  if (help) return printHelp(HELP.status);
  const { client } = remote();
  const run = await client.get(positionals[0]!);
  // Like `run --wait`: scripts can tell a failed run from the exit code.
  const exitCode = run.status === 'failed' ? 1 : 0;
  if (values.json) {
    print(run);
    return exitCode;
  }
  const rows: [string, string][] = [
    ['status', `${run.status}${progressCell(run) ? ` · ${progressCell(run)}` : ''}${run.message && run.status !== 'completed' ? ` — ${run.message}` : ''}`],
    ['engine', run.engine],
    ['images', `${run.images.length}${run.images.length ? ` (${run.images.slice(0, 5).join(', ')}${run.images.length > 5 ? ', …' : ''})` : ''}`],
    ['settings', JSON.stringify(run.settings)],
    ['requested', `${run.requestedAt} (${formatAge(run.requestedAt)})`],
  ];
  if (run.startedAt) rows.push(['started', run.startedAt]);
  if (run.finishedAt) rows.push(['finished', `${run.finishedAt} (took ${took(run)})`]);
  if (run.worker) rows.push(['worker', run.worker]);
  if (run.attempt > 1) rows.push(['attempt', String(run.attempt)]);
  if (run.parentRunId) rows.push(['rerun of', run.parentRunId]);
  if (run.webhookUrl) rows.push(['webhook', run.webhookUrl]);
  if (run.error) rows.push(['error', run.error]);
  if (run.errorHint) rows.push(['hint', run.errorHint]);
  if (run.usage.cost > 0) rows.push(['cost', `${run.usage.cost.toFixed(4)} for ${formatDuration(run.usage.seconds * 1000)} of worker time`]);
  console.log(run.runId);
  for (const [key, value] of rows) console.log(`  ${key.padEnd(11)} ${value}`);
  if (run.stages.length > 1) {
    console.log('  stages');
    for (const stage of run.stages) {
      const detail = [stage.worker && `on ${stage.worker}`, stage.seconds > 0 && formatDuration(stage.seconds * 1000), stage.reusedFrom && `reused from ${stage.reusedFrom}`, stage.error].filter(Boolean).join(', ');
      console.log(`    ${stage.name.padEnd(10)} ${stage.engine.padEnd(16)} ${stage.status.padEnd(10)}${detail ? ` ${detail}` : ''}`);
    }
  }
  const artifacts = Object.entries(run.artifacts);
  const unavailable = Object.entries(run.unavailableArtifacts ?? {});
  if (artifacts.length || unavailable.length) console.log('  artifacts');
  const width = Math.max(12, ...[...artifacts, ...unavailable].map(([type]) => type.length));
  for (const [type, url] of artifacts) console.log(`    ${type.padEnd(width)} ${client.url(url)}`);
  for (const [type, reason] of unavailable) console.log(`    ${type.padEnd(width)} unavailable: ${reason}`);
  return exitCode;
}

const time = (iso: string) => iso.slice(11, 23);

function describe(event: RunStreamEvent): string[] {
  switch (event.type) {
    case 'log':
      return event.lines.map((line) => `${time(event.at)}  ${line}`);
    case 'status': {
      const stage = event.stage ? ` · ${event.stage}` : '';
      const message = event.error ?? event.message;
      return [
        `${time(event.at)}  ── ${event.status}${stage}${message ? ` — ${message}` : ''}`,
        ...(event.errorHint ? [`${time(event.at)}     hint: ${event.errorHint}`] : []),
      ];
    }
    case 'retry':
      return [`${time(event.at)}  ↻ retry (attempt ${event.nextAttempt} in ${formatDuration(event.delayMs)}): ${event.error}`];
    case 'progress':
      return [];
    case 'stage': {
      const detail = [event.worker && `worker ${event.worker}`, event.seconds !== undefined && formatDuration(event.seconds * 1000), event.error].filter(Boolean).join(', ');
      return [`${time(event.at)}  ▸ stage ${event.pipelineStage} (${event.engine}) ${event.status}${detail ? ` — ${detail}` : ''}`];
    }
  }
}

/** `recon logs <runId> [-f]` */
export async function logsCommand(args: string[]): Promise<number> {
  const { values, positionals, help } = parseCommand(
    'logs',
    args,
    { follow: { type: 'boolean', short: 'f' }, json: { type: 'boolean' } },
    HELP.logs,
    { min: 1, max: 1 },
  );
  if (help) return printHelp(HELP.logs);
  const { client } = remote();
  const runId = positionals[0]!;
  await client.get(runId); // a clear 404 for an unknown id
  const stop = new AbortController();
  // Without -f: print what has been recorded, and stop once the stream goes quiet.
  let quiet: ReturnType<typeof setTimeout> | undefined;
  const settle = (ms: number) => {
    if (values.follow) return;
    clearTimeout(quiet);
    quiet = setTimeout(() => stop.abort(), ms);
  };
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  let last: RunStatus | undefined;
  settle(3000);
  try {
    for await (const event of client.events(runId, { signal: stop.signal })) {
      if (event.type === 'status') last = event.status;
      if (values.json) process.stdout.write(`${JSON.stringify(event)}\n`);
      else for (const line of describe(event)) console.log(line);
      settle(300);
    }
  } finally {
    clearTimeout(quiet);
    process.off('SIGINT', onSignal);
  }
  return values.follow && !stop.signal.aborted && (last === 'failed' || last === 'canceled') ? 1 : 0;
}

/** `recon download <runId>` */
export async function downloadCommand(args: string[]): Promise<number> {
  const { values, positionals, help } = parseCommand(
    'download',
    args,
    { type: { type: 'string' }, out: { type: 'string', short: 'o' }, json: { type: 'boolean' } },
    HELP.download,
    { min: 1, max: 1 },
  );
  if (help) return printHelp(HELP.download);
  const types = values.type?.split(',').map((t) => t.trim()).filter(Boolean);
  const unknown = types?.find((t) => !(ARTIFACT_KINDS as string[]).includes(t));
  if (unknown) throw new UsageError(`recon download: unknown artifact type "${unknown}" (one of ${ARTIFACT_KINDS.join(', ')})`, HELP.download);
  const { client } = remote();
  const run = await client.get(positionals[0]!);
  const available = ARTIFACT_KINDS.filter((kind) => run.artifacts[kind]);
  if (!types && !available.length) {
    throw new Error(`Run ${run.runId} has no artifacts yet (status ${run.status})`);
  }
  const files = await downloadAll(client, run, values.out ?? '.', undefined, (types as ArtifactKind[] | undefined) ?? available);
  if (values.json) print(files);
  else for (const file of files) console.log(`${file.type.padEnd(12)} ${file.path} (${file.bytes} bytes)`);
  return 0;
}

/** `recon cancel <runId>` */
export async function cancelCommand(args: string[]): Promise<number> {
  const { values, positionals, help } = parseCommand('cancel', args, { json: { type: 'boolean' } }, HELP.cancel, { min: 1, max: 1 });
  if (help) return printHelp(HELP.cancel);
  const run = await remote().client.cancel(positionals[0]!);
  if (values.json) print(run);
  else console.log(`Canceled ${run.runId}`);
  return 0;
}
