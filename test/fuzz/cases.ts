/**
 * Hostile requests generated from the server's own /openapi.json: every operation, with its path,
 * query and body mutated (malformed, oversized, wrong-typed, missing and extra fields, odd
 * encodings, bad multipart framing, huge headers, path tricks), plus session WebSocket messages.
 * A case is a pure function of (seed, index), so `--seed N --case K` replays it exactly.
 */
import { seededRandom as random } from '../../src/domain/seeded-random.ts';

/** Ids of real resources, filled in at run time (a case names them, so it stays replayable). */
export const FIXTURES = ['run', 'key', 'batch', 'session', 'webhook'] as const;
export type Fixture = (typeof FIXTURES)[number];

export interface HttpCase {
  kind: 'http';
  seed: number;
  index: number;
  /** The operation it was derived from, e.g. "POST /api/runs/{runId}/process". */
  operation: string;
  mutation: string;
  method: string;
  /** May hold {run}, {key}, {batch}, {session}, {webhook} for fixture ids. */
  path: string;
  headers: Record<string, string>;
  /** base64, so any bytes survive the corpus' JSON. */
  body?: string;
  /** Statuses the case must get when the server knows better than "some 4xx" (e.g. 413 for too large). */
  expect?: number[];
}

export interface SocketCase {
  kind: 'ws';
  seed: number;
  index: number;
  operation: string;
  mutation: string;
  path: string;
  /** Text frames (or base64 binary ones, as {binary}) sent in order once connected. */
  messages: (string | { binary: string })[];
}

export type FuzzCase = HttpCase | SocketCase;

interface OpenApiOperation {
  parameters?: { in: string; name: string; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}
export interface OpenApi {
  paths: Record<string, Record<string, OpenApiOperation>>;
}
interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  default?: unknown;
}

/** Upload routes take multipart bodies, which /openapi.json does not describe. */
const MULTIPART = new Set(['POST /api/runs/{runId}/images', 'POST /api/batch/runs']);
const SESSION_SOCKET = '/ws/reconstruct/{id}';


class Dice {
  readonly next: () => number;
  constructor(seed: number, index: number) {
    this.next = random((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const JUNK_STRINGS = [
  '',
  ' ',
  'x',
  '../../../../etc/passwd',
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '%2e%2e%2f%2e%2e%2f',
  '..\\..\\windows\\win.ini',
  '/absolute/path',
  '%00',
  'a\u0000b',
  '%',
  '%E0%A4%A',
  '%FF%FE',
  '😀🔥',
  '\u202e\u200b',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  "' OR 1=1 --",
  '"; DROP TABLE runs; --',
  '<script>alert(1)</script>',
  '{{7*7}}',
  'run_0000000000_aaaaaa',
  'run_9999999999999999_zzzzzzzzzzzz',
  'k000000000000',
  '-1',
  '0',
  '1e309',
  'NaN',
  'true',
  '[]',
  '{}',
];

/** A string for a parameter or field: junk, or very long. */
function junkString(dice: Dice): string {
  if (dice.chance(0.1)) return 'a'.repeat(dice.pick([256, 4096, 70_000]));
  return dice.pick(JUNK_STRINGS);
}

const JUNK_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 2, '', 'x', [], {}, [null], { a: 1 }, '\ud800'];

function junkValue(dice: Dice): unknown {
  if (dice.chance(0.15)) return junkString(dice);
  if (dice.chance(0.05)) return nested(dice.pick([50, 1000]));
  return dice.pick(JUNK_VALUES);
}

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

/** A plausible value of the schema, so that mutations reach past the first check. */
export function sample(schema: JsonSchema | undefined, dice: Dice, depth = 0): unknown {
  if (!schema || depth > 4) return undefined;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return dice.pick(schema.enum);
  if (schema.default !== undefined && dice.chance(0.3)) return schema.default;
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives?.length) return sample(dice.pick(alternatives), dice, depth + 1);
  const type = Array.isArray(schema.type) ? dice.pick(schema.type) : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, property] of Object.entries(schema.properties ?? {})) {
        if (schema.required?.includes(key) || dice.chance(0.5)) out[key] = sample(property, dice, depth + 1);
      }
      return out;
    }
    case 'array':
      return Array.from({ length: dice.int(3) }, () => sample(schema.items, dice, depth + 1));
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? 0;
      const max = Math.min(schema.maximum ?? min + 100, min + 100);
      return type === 'integer' ? min + dice.int(max - min + 1) : min + dice.next() * (max - min);
    }
    case 'boolean':
      return dice.chance(0.5);
    case 'string':
      if (schema.format === 'uri') return dice.pick(['https://example.com/hook', 'http://127.0.0.1:9/x', 'ftp://x', 'not a url']);
      return 'x'.repeat(Math.max(schema.minLength ?? 1, 1));
    default:
      return dice.chance(0.5) ? {} : 'x';
  }
}

/** The fixture (or a fitting value) for a path parameter, by the route it is in. */
function fixtureFor(path: string, name: string): string {
  if (name === 'runId') return '{run}';
  if (name === 'keyId') return '{key}';
  if (name === 'batchId') return '{batch}';
  if (name === 'id') return path.startsWith('/api/webhooks') ? '{webhook}' : '{session}';
  if (name === 'type') return 'glb';
  if (name === 'name') return 'p0.jpg';
  return 'x';
}

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');

/** Mutates one field of a sampled body: removes it, retypes it, adds strangers. */
function mutateBody(value: unknown, dice: Dice): { body: unknown; mutation: string } {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { body: junkValue(dice), mutation: 'body:replaced' };
  const out = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(out);
  const choice = dice.int(5);
  if (choice === 0 && keys.length) {
    const key = dice.pick(keys);
    delete out[key];
    return { body: out, mutation: `body:missing ${key}` };
  }
  if (choice === 1 && keys.length) {
    const key = dice.pick(keys);
    out[key] = junkValue(dice);
    return { body: out, mutation: `body:wrong-typed ${key}` };
  }
  if (choice === 2) {
    out[dice.pick(['extra', '__proto__', 'constructor', 'owner', 'id', 'admin', 'status'])] = junkValue(dice);
    return { body: out, mutation: 'body:extra field' };
  }
  if (choice === 3) {
    const key = keys.length ? dice.pick(keys) : 'x';
    out[key] = 'y'.repeat(dice.pick([1000, 100_000, 1_200_000]));
    return { body: out, mutation: `body:oversized ${key}` };
  }
  return { body: junkValue(dice), mutation: 'body:not an object' };
}

const BOUNDARY = 'fuzzboundary';
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xd9]);

/** Broken multipart bodies: the framing, the parts, the file names, the content. */
function multipartCase(dice: Dice): { headers: Record<string, string>; body: Buffer; mutation: string; expect?: number[] } {
  const part = (name: string, filename: string | undefined, data: Buffer, type = 'image/jpeg') =>
    Buffer.concat([
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${filename !== undefined ? `; filename="${filename}"` : ''}\r\nContent-Type: ${type}\r\n\r\n`),
      data,
      Buffer.from('\r\n'),
    ]);
  const end = Buffer.from(`--${BOUNDARY}--\r\n`);
  const type = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };
  switch (dice.int(10)) {
    case 0:
      return { headers: { 'content-type': 'multipart/form-data' }, body: Buffer.concat([part('images', 'a.jpg', JPEG), end]), mutation: 'multipart:no boundary' };
    case 1:
      return { headers: type, body: part('images', 'a.jpg', JPEG), mutation: 'multipart:no closing boundary' };
    case 2:
      return { headers: type, body: Buffer.from('garbage without any boundary'), mutation: 'multipart:no parts' };
    case 3:
      return { headers: type, body: Buffer.concat([part('images', junkString(dice), JPEG), end]), mutation: 'multipart:odd filename' };
    case 4:
      return { headers: type, body: Buffer.concat([part('images', 'a.jpg', Buffer.from('not an image at all')), end]), mutation: 'multipart:not an image' };
    case 5:
      return { headers: type, body: Buffer.concat([part('images', 'a.jpg', Buffer.alloc(0)), end]), mutation: 'multipart:empty file' };
    case 6:
      return { headers: type, body: Buffer.concat([part('images', undefined, JPEG), part(junkString(dice).slice(0, 200), 'b.jpg', JPEG), end]), mutation: 'multipart:field not a file' };
    case 7:
      return {
        headers: type,
        body: Buffer.concat(Array.from({ length: 3 }, () => part('images', 'same.jpg', JPEG)).concat(end)),
        mutation: 'multipart:duplicate names',
      };
    case 8:
      return { headers: type, body: Buffer.concat([part('settings', undefined, Buffer.from(dice.pick(['{', '[]', '{"engine":5}', 'null'])), 'application/json'), end]), mutation: 'multipart:bad settings field' };
    default:
      return {
        headers: { 'content-type': `multipart/form-data; boundary=${'b'.repeat(dice.pick([1, 70, 200]))}` },
        body: Buffer.concat([part('images', 'a.jpg', JPEG), end]),
        mutation: 'multipart:boundary mismatch',
      };
  }
}

const CONTENT_TYPES = [
  'text/plain',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/x-www-form-urlencoded',
  'application/xml',
  'application/json, text/plain',
  '',
  'multipart/form-data; boundary=x',
  'application/merge-patch+json',
];

/** The generated case number `index` of `seed`, for this server's operations. */
export function generateCase(openapi: OpenApi, seed: number, index: number): FuzzCase {
  const dice = new Dice(seed, index);
  const operations: [string, string, OpenApiOperation][] = [];
  for (const [path, methods] of Object.entries(openapi.paths)) {
    for (const [method, operation] of Object.entries(methods)) operations.push([method.toUpperCase(), path, operation]);
  }
  // One case in ten talks to a session over its WebSocket.
  if (dice.chance(0.1)) return socketCase(dice, seed, index);
  const [method, template, operation] = dice.pick(operations);
  const name = `${method} ${template}`;
  const parameters = operation.parameters ?? [];
  let path = template.replace(/\{(\w+)\}/g, (_, param: string) => fixtureFor(template, param));
  const query = new URLSearchParams();
  for (const parameter of parameters.filter((p) => p.in === 'query')) {
    if (dice.chance(0.4)) query.set(parameter.name, String(sample(parameter.schema, dice)));
  }
  let headers: Record<string, string> = {};
  let body: Buffer | undefined;
  let expect: number[] | undefined;
  const jsonSchema = operation.requestBody?.content?.['application/json']?.schema;
  if (jsonSchema) {
    headers['content-type'] = 'application/json';
    body = Buffer.from(JSON.stringify(sample(jsonSchema, dice)));
  }
  let mutation: string;
  const choice = dice.int(9);
  const pathParams = parameters.filter((p) => p.in === 'path');
  if (choice === 0 && pathParams.length) {
    const param = dice.pick(pathParams);
    const value = junkString(dice);
    path = template
      .replace(`{${param.name}}`, dice.chance(0.5) ? value : encodeURIComponent(value))
      .replace(/\{(\w+)\}/g, (_, p: string) => fixtureFor(template, p));
    mutation = `path:${param.name}`;
  } else if (choice === 1) {
    const params = parameters.filter((p) => p.in === 'query');
    const key = params.length && dice.chance(0.7) ? dice.pick(params).name : dice.pick(['extra', '__proto__', 'limit[]', '']);
    const value = junkValue(dice);
    if (dice.chance(0.3)) query.append(key, String(value));
    query.append(key, typeof value === 'string' ? value : JSON.stringify(value));
    mutation = `query:${key}`;
  } else if (choice === 2 && MULTIPART.has(name)) {
    const multipart = multipartCase(dice);
    headers = multipart.headers;
    body = multipart.body;
    mutation = multipart.mutation;
  } else if (choice === 2 && jsonSchema) {
    const mutated = mutateBody(sample(jsonSchema, dice), dice);
    body = Buffer.from(JSON.stringify(mutated.body) ?? 'null');
    mutation = mutated.mutation;
    if (body.length > 1024 * 1024) expect = [413];
  } else if (choice === 3) {
    const kind = dice.int(5);
    const bodies = ['{', '{"a":', '[1,2', '\u0000', '{"a":1}{"b":2}', '\xff\xfe{"a":1}', '{"a":"\\ud800"}', 'nul', "{'a':1}", `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`];
    body = kind === 4 ? Buffer.from([0xc3, 0x28, 0xa0, 0xa1]) : Buffer.from(dice.pick(bodies), 'latin1');
    headers['content-type'] = 'application/json';
    mutation = 'body:malformed JSON';
    if (jsonSchema) expect = [400];
  } else if (choice === 4) {
    headers['content-type'] = dice.pick(CONTENT_TYPES);
    body ??= Buffer.from('{}');
    mutation = `content-type:${headers['content-type']}`;
  } else if (choice === 5) {
    const which = dice.int(6);
    if (which === 0) {
      headers['x-fuzz'] = 'h'.repeat(dice.pick([8_000, 20_000, 70_000]));
      mutation = 'headers:huge';
      if (headers['x-fuzz'].length > 16_384) expect = [431];
    } else if (which === 1) {
      headers.authorization = dice.pick(['Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', `Bearer ${'k'.repeat(5000)}`, 'Bearer recon_k000000000000_x', 'Bearer \u00e9']);
      mutation = 'headers:authorization';
    } else if (which === 2) {
      headers['last-event-id'] = junkString(dice).slice(0, 1000);
      mutation = 'headers:last-event-id';
    } else if (which === 3) {
      headers['content-length'] = dice.pick(['-1', 'abc', '99999999999999999999', '1e3']);
      mutation = 'headers:bad content-length';
      expect = [400];
    } else if (which === 4) {
      headers['transfer-encoding'] = dice.pick(['chunked', 'gzip', 'identity, chunked']);
      headers['content-encoding'] = dice.pick(['gzip', 'br', 'deflate', 'x-unknown']);
      mutation = 'headers:encodings';
    } else {
      headers.accept = dice.pick(['application/xml', '*/*;q=abc', 'text/event-stream', '']);
      headers['accept-encoding'] = dice.pick(['gzip', 'br;q=2', '*']);
      mutation = 'headers:accept';
    }
  } else if (choice === 6) {
    const tricks = [
      `${path}/..`,
      `${path}/%2e%2e/%2e%2e/openapi.json`,
      `${path}//`,
      path.replace('/api/', '/API/'),
      `${path}%00`,
      `${path}/${'x'.repeat(8000)}`,
      `${path}?${'a=1&'.repeat(2000)}`,
      `/api/${'../'.repeat(5)}etc/passwd`,
      `${path}/%`,
      `${path};jsessionid=1`,
      path.replaceAll('/', '%2F'),
    ];
    path = dice.pick(tricks);
    mutation = 'path:trick';
  } else if (choice === 7) {
    return {
      kind: 'http',
      seed,
      index,
      operation: name,
      mutation: 'method:other',
      method: dice.pick(['PUT', 'PATCH', 'DELETE', 'POST', 'GET', 'OPTIONS', 'HEAD']),
      path,
      headers: { 'content-type': 'application/json' },
      body: b64('{}'),
    };
  } else {
    mutation = 'valid';
  }
  const search = query.toString();
  return {
    kind: 'http',
    seed,
    index,
    operation: name,
    mutation,
    method,
    path: search ? `${path}${path.includes('?') ? '&' : '?'}${search}` : path,
    headers,
    ...(body && { body: body.toString('base64') }),
    ...(expect && { expect }),
  };
}

function socketCase(dice: Dice, seed: number, index: number): SocketCase {
  const image = (data: string, filename?: unknown) => JSON.stringify({ type: 'image', data, ...(filename !== undefined && { filename }) });
  const jpeg = JPEG.toString('base64');
  const messages: (string | { binary: string })[] = [];
  const mutations: string[] = [];
  const path = dice.chance(0.15) ? `/ws/reconstruct/${encodeURIComponent(junkString(dice).slice(0, 300))}` : '/ws/reconstruct/{session}';
  if (path !== '/ws/reconstruct/{session}') mutations.push('path:session id');
  for (let i = 0, n = 1 + dice.int(3); i < n; i++) {
    const choice = dice.int(10);
    const pick: [string, string | { binary: string }][] = [
      ['ping', JSON.stringify({ type: 'ping' })],
      ['unknown type', JSON.stringify({ type: junkString(dice) })],
      ['no type', JSON.stringify({ data: jpeg })],
      ['not JSON', dice.pick(['{', 'ping', '', '[]', 'null', '"image"', '\u0000'])],
      ['image: bad base64', image(dice.pick(['!!!', '', 'data:image/png;base64,', 'AAAA', 'data:;base64,@@']))],
      ['image: not an image', image(Buffer.from('hello').toString('base64'), 'a.jpg')],
      ['image: odd filename', image(jpeg, junkValue(dice))],
      ['generate: wrong type', JSON.stringify({ type: 'generate', incremental: junkValue(dice) })],
      ['binary frame', { binary: jpeg }],
      ['extra fields', JSON.stringify({ type: 'finalize', extra: junkValue(dice), __proto__: { admin: true } })],
    ];
    const [mutation, message] = pick[choice]!;
    mutations.push(mutation);
    messages.push(message);
  }
  return { kind: 'ws', seed, index, operation: `WS ${SESSION_SOCKET}`, mutation: mutations.join(', '), path, messages };
}
