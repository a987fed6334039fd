import { loadConfig } from '../config.ts';
import { describeEngines } from '../core/engine-catalog.ts';
import { createEngineRegistry } from '../engines/index.ts';
import { createPipelines } from '../pipelines/index.ts';
import type { EnginesList } from '../sdk/client.ts';
import { parseCommand } from './args.ts';
import { remote } from './connect.ts';

export const ENGINES_HELP = `Usage: recon engines [--json]

Each engine: usable now or not (and why: a missing binary, token, URL or Python package),
its image limits, what it produces, and its settings with their defaults.
With RECON_URL set, asks that server (GET /api/engines); without it, checks this machine's
configuration (the same environment \`recon serve\` would read).`;

/** `recon engines`: from the server named by RECON_URL, else from the local registry. */
export async function enginesCommand(args: string[]): Promise<number> {
  const { values, help } = parseCommand('engines', args, { json: { type: 'boolean' } }, ENGINES_HELP, { max: 0 });
  if (help) {
    console.log(ENGINES_HELP);
    return 0;
  }
  const listing = process.env.RECON_URL ? await remote().client.engines() : await localEngines(process.env);
  if (values.json) console.log(JSON.stringify(listing, null, 2));
  else console.log(formatEngines(listing, process.env.RECON_URL ? `server ${process.env.RECON_URL}` : 'this machine'));
  return 0;
}

/** What GET /api/engines would answer for a server started with `env`. */
export async function localEngines(env: Record<string, string | undefined>): Promise<EnginesList> {
  const config = loadConfig(env);
  const registry = createEngineRegistry(config);
  const listing = await describeEngines(registry, createPipelines(config, registry));
  for (const engine of registry.list()) await engine.close?.();
  return listing;
}


interface SchemaProperty {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  description?: string;
}

export function formatEngines(listing: EnginesList, source: string): string {
  const lines = [`Engines on ${source}${listing.default ? ` (default: ${listing.default})` : ''}:`, ''];
  for (const engine of listing.engines) {
    const state = engine.available ? 'usable' : 'NOT usable';
    lines.push(`${engine.id}${engine.default ? ' (default)' : ''} — ${engine.title}: ${state}${engine.reason ? ` — ${engine.reason}` : ''}`);
    lines.push(`  ${engine.limits.minImages}–${engine.limits.maxImages} images; produces ${engine.produces.join(', ')}`);
    if (engine.stages) lines.push(`  pipeline: ${engine.stages.map((s) => `${s.name} (${s.engine})`).join(' → ')}`);
    if (engine.consumes) lines.push(`  a pipeline stage: reads ${engine.consumes.join(', ')}`);
    const properties = (engine.settingsSchema.properties ?? {}) as Record<string, SchemaProperty>;
    for (const [name, p] of Object.entries(properties)) {
      const kind = p.enum ? p.enum.join('|') : `${p.type ?? 'any'}${p.minimum !== undefined || p.maximum !== undefined ? ` ${p.minimum ?? ''}–${p.maximum ?? ''}` : ''}`;
      const fallback = p.default === undefined ? '' : ` = ${JSON.stringify(p.default)}`;
      lines.push(`    ${`${name}${fallback}`.padEnd(32)} ${kind}${p.description ? ` — ${p.description}` : ''}`);
    }
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}
