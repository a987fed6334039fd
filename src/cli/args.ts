import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A mistake in how the command was called: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  readonly usage: string | undefined;
  constructor(message: string, usage?: string) {
    super(message);
    this.name = 'UsageError';
    this.usage = usage;
  }
}

/** A mistake the user can fix (an unknown key id, an unreachable server): printed as is, exit code 2. */
export class KeysCliError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

function distance(a: string, b: string) {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

const closest = (given: string, names: string[]) =>
  names
    .map((name) => ({ name, d: name.startsWith(given) ? 0 : distance(given, name) }))
    .filter((c) => c.d <= Math.max(1, Math.floor(c.name.length / 3)))
    .sort((a, b) => a.d - b.d)[0]?.name;

/**
 * node:util parseArgs (strict) for one command, with `--help` on every command and mistakes
 * turned into UsageErrors that name the problem and suggest the option that was probably meant.
 */
export function parseCommand<O extends Options>(
  command: string,
  args: string[],
  options: O,
  usage: string,
  positionals: { min?: number; max?: number } = {},
) {
  const all = { ...options, help: { type: 'boolean', short: 'h' } } as O & { help: { type: 'boolean'; short: 'h' } };
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof all; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args, options: all, allowPositionals: true, strict: true });
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'(-{1,2}[^']*)'/.exec(message)?.[1] ?? '';
      const name = flag.replace(/^-+/, '').split('=')[0]!;
      const guess = closest(name, Object.keys(all));
      throw new UsageError(`recon ${command}: unknown option ${flag}${guess ? ` — did you mean --${guess}?` : ''}`, usage);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(`recon ${command}: ${message.replace(/^Option /, 'option ')}`, usage);
    }
    throw new UsageError(`recon ${command}: ${message}`, usage);
  }
  if ((parsed.values as { help?: boolean }).help) return { ...parsed, help: true as const };
  const count = parsed.positionals.length;
  if (positionals.min !== undefined && count < positionals.min) {
    throw new UsageError(`recon ${command}: missing argument`, usage);
  }
  if (positionals.max !== undefined && count > positionals.max) {
    throw new UsageError(`recon ${command}: unexpected argument "${parsed.positionals[positionals.max]}"`, usage);
  }
  return { ...parsed, help: false as const };
}

/** A `--set` value: numbers and booleans as such, `null`, JSON arrays/objects, otherwise text. */
export function parseSettingValue(raw: string): unknown {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw === 'null') return null;
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(raw)) return Number(raw);
  if (/^[[{"]/.test(raw)) {
    try {
      return JSON.parse(raw);
    } catch {
      throw new UsageError(`--set: ${raw} looks like JSON but does not parse`);
    }
  }
  return raw;
}

/** `--set key=value …` → settings object. */
export function parseSets(sets: string[] | undefined, usage?: string): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const set of sets ?? []) {
    const eq = set.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set expects key=value, got "${set}"`, usage);
    settings[set.slice(0, eq).trim()] = parseSettingValue(set.slice(eq + 1));
  }
  return settings;
}

/** A positive integer option. */
export function intOption(name: string, raw: string | undefined, usage: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} expects a whole number, got "${raw}"`, usage);
  return Number(raw);
}
