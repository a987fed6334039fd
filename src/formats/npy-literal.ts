/**
 * The Python literals an .npy header is written in (numpy writes it with repr() and reads it with
 * ast.literal_eval): strings, ints, booleans, None, tuples, lists and dicts.
 */
export type PyValue = string | number | boolean | null | PyTuple | PyList | PyDict;
export interface PyTuple {
  tuple: PyValue[];
}
export interface PyList {
  list: PyValue[];
}
export interface PyDict {
  dict: Map<string, PyValue>;
}

const MAX_DEPTH = 32;
const CLOSERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

/** Parses one literal that must span the whole text (surrounding whitespace allowed). */
export function parsePyLiteral(text: string): PyValue {
  let at = 0;

  const fail = (problem: string): never => {
    throw new Error(`${problem} at character ${at} of ${JSON.stringify(text.slice(0, 200))}`);
  };
  const skipSpace = () => {
    while (at < text.length && /\s/.test(text[at]!)) at++;
  };

  const parseString = (): string => {
    const quote = text[at++];
    let out = '';
    while (at < text.length && text[at] !== quote) {
      if (text[at] === '\\') {
        const escaped = text[at + 1];
        if (escaped !== '\\' && escaped !== "'" && escaped !== '"') fail('unsupported escape in string');
        out += escaped;
        at += 2;
      } else {
        out += text[at++];
      }
    }
    if (at >= text.length) fail('unterminated string');
    at++;
    return out;
  };

  const parseWord = (): PyValue => {
    // Python 2 wrote long ints with an L suffix; numpy still reads those headers.
    const match = /^(-?\d+)L?|^(True|False|None)\b/.exec(text.slice(at, at + 32));
    if (!match) return fail('unexpected token');
    at += match[0].length;
    if (match[1] !== undefined) return Number(match[1]);
    return match[2] === 'None' ? null : match[2] === 'True';
  };

  const parseItems = (open: string, depth: number): PyValue[] => {
    const close = CLOSERS[open]!;
    const items: PyValue[] = [];
    at++;
    for (;;) {
      skipSpace();
      if (text[at] === close) break;
      items.push(parseValue(depth + 1));
      if (open === '{') {
        skipSpace();
        if (text[at] !== ':') fail("expected ':'");
        at++;
        items.push(parseValue(depth + 1));
      }
      skipSpace();
      if (text[at] === ',') at++;
      else if (text[at] !== close) fail(`expected ',' or '${close}'`);
    }
    at++;
    return items;
  };

  const parseValue = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    skipSpace();
    const c = text[at];
    if (c === "'" || c === '"') return parseString();
    if (c === '[') return { list: parseItems(c, depth) };
    if (c === '(') {
      const start = at;
      const items = parseItems(c, depth);
      // "(x)" is just x in Python; only a comma makes a one-item tuple.
      const hasComma = items.length !== 1 || /,\s*\)$/.test(text.slice(start, at));
      return hasComma ? { tuple: items } : items[0]!;
    }
    if (c === '{') {
      const items = parseItems(c, depth);
      const dict = new Map<string, PyValue>();
      for (let i = 0; i < items.length; i += 2) {
        const key = items[i];
        if (typeof key !== 'string') fail('dict keys must be strings');
        dict.set(key as string, items[i + 1]!);
      }
      return { dict };
    }
    return parseWord();
  };

  const value = parseValue(0);
  skipSpace();
  if (at !== text.length) fail('unexpected text after the literal');
  return value;
}

/** Writes a value the way Python's repr() does, for the cases numpy headers use. */
export function pyRepr(value: PyValue): string {
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null) return 'None';
  if ('tuple' in value) {
    const items = value.tuple.map(pyRepr);
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
  }
  if ('list' in value) return `[${value.list.map(pyRepr).join(', ')}]`;
  return `{${[...value.dict].map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}`;
}
