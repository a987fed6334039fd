import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { sql } from 'kysely';
import WebSocket from 'ws';
import { makeImage, multipart } from '../helpers/images.ts';
import { jsonBody, type StoreMode, startTestServer, type TestServer } from '../helpers/recon.ts';
import { waitForStatus } from '../helpers/runs.ts';
import type { Fixture, FuzzCase, HttpCase, OpenApi, SocketCase } from './cases.ts';

/** The fuzzer acts as an admin (RECON_API_KEYS), so keys it creates never lock it out. */
const ADMIN_KEY = 'fuzz-admin-key-0123456789abcdefghijklmnopqrstuvwxyz';
const REQUEST_TIMEOUT_MS = 10_000;
/** Columns that background loops (webhook retries, session activity) change on their own. */
const VOLATILE = new Set(['updated_at', 'last_activity_at', 'attempts', 'attempt_log', 'last_status_code', 'last_error', 'next_attempt_at', 'claim_token', 'delivered_at', 'status_webhook']);
/**
 * Written by background loops, so they may change during any request: from events that earlier
 * requests caused (webhook deliveries and the dispatcher's cursor; the events themselves are
 * compared), and by the worker's heartbeat (its row in workers).
 */
const ASYNC_TABLES = new Set(['webhook_deliveries', 'webhook_dispatch_cursor', 'workers']);
const METHODS_THAT_CHANGE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface Response {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface Failure {
  case: FuzzCase;
  reason: string;
}

export interface FuzzTarget {
  server: TestServer;
  openapi: OpenApi;
  fixtures: Record<Fixture, string>;
  /** Runs one case; the reason it failed, or undefined. */
  check(fuzzCase: FuzzCase): Promise<string | undefined>;
  alive(): Promise<boolean>;
  close(): Promise<void>;
}

export async function startFuzzTarget(mode: StoreMode): Promise<FuzzTarget> {
  const server = await startTestServer(mode, {
    RECON_API_KEYS: ADMIN_KEY,
    RECON_RATE_LIMIT_MAX: '0',
    RECON_RATE_LIMIT_RUNS_PER_HOUR: '100000000',
  });
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  const api = async (path: string, init: RequestInit = {}) => {
    const response = await server.json(path, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
    if (response.status >= 300) throw new Error(`fixture ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  };
  const completedRun = async () => {
    const { runId } = await api('/api/runs', jsonBody({ engine: 'test', settings: { steps: 1, stepMs: 0 } }));
    await api(`/api/runs/${runId}/images`, { method: 'POST', body: multipart([{ name: 'p0.jpg', data: await makeImage(0) }]) });
    await api(`/api/runs/${runId}/process`, { method: 'POST' });
    await waitForStatus({ ...server, json: (p, i) => server.json(p, { ...i, headers: auth }) }, runId, ['completed']);
    return runId as string;
  };
  // Cases may delete the run they were given; spares stand in, since no worker runs later ones.
  const runs = await Promise.all(Array.from({ length: 4 }, completedRun));
  const fixtures: Record<Fixture, string> = { run: runs.shift()!, key: '', batch: '', session: '', webhook: '' };
  const exists = async (path: string) => (await server.json(path, { headers: auth })).status === 200;
  /** Puts back what a case deleted (or revoked), so later cases still reach real resources. */
  const restoreFixtures = async () => {
    if (!(await exists(`/api/runs/${fixtures.run}`)) && runs.length) fixtures.run = runs.shift()!;
    const keys = (await api('/api/keys')).keys as { id: string }[];
    if (!keys.some((k) => k.id === fixtures.key)) fixtures.key = (await api('/api/keys', jsonBody({ name: 'fuzz' }))).id;
    if (!fixtures.batch) fixtures.batch = (await api('/api/batch/runs', jsonBody({ runIds: [fixtures.run] }))).batchId;
    if (!fixtures.session || !(await exists(`/ws/session/${fixtures.session}`))) {
      fixtures.session = (await api('/ws/session/create?engine=test', { method: 'POST' })).session_id;
    }
    if (!fixtures.webhook || !(await exists(`/api/webhooks/${fixtures.webhook}`))) {
      fixtures.webhook = (await api('/api/webhooks', jsonBody({ url: 'https://example.com/hook' }))).id;
    }
  };
  await restoreFixtures();
  // From here on runs only queue: the state a refused request must leave alone then holds still.
  await server.recon.worker?.stop();
  const openapi = (await (await server.fetch('/openapi.json')).json()) as OpenApi;
  const { port } = new URL(server.url);
  const resolve = (path: string) => path.replace(/\{(run|key|batch|session|webhook)\}/g, (_, name: Fixture) => fixtures[name]);

  /** A digest of every table (less what background loops change) and of the stored files, per part. */
  const snapshot = async (): Promise<Map<string, string>> => {
    const parts = new Map<string, string>();
    const tables = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public' order by 1`.execute(server.recon.store.db);
    for (const { name } of tables.rows) {
      if (ASYNC_TABLES.has(name)) continue;
      const rows = await sql<{ row: Record<string, unknown> }>`select row_to_json(t) as row from ${sql.table(name)} t`.execute(server.recon.store.db);
      const lines = rows.rows.map(({ row }) => JSON.stringify(Object.entries(row).filter(([k]) => !VOLATILE.has(k)))).sort();
      parts.set(name, createHash('sha256').update(lines.join('\n')).digest('hex'));
    }
    parts.set('files', createHash('sha256').update((await listFiles(server.dataDir)).join('\n')).digest('hex'));
    return parts;
  };
  const changed = (before: Map<string, string>, after: Map<string, string>) =>
    [...new Set([...before.keys(), ...after.keys()])].filter((part) => before.get(part) !== after.get(part));

  const checkHttp = async (fuzzCase: HttpCase): Promise<string | undefined> => {
    const changes = METHODS_THAT_CHANGE.has(fuzzCase.method);
    const before = changes ? await snapshot() : undefined;
    const headers = { ...auth, ...fuzzCase.headers };
    const response = await send(Number(port), fuzzCase.method, resolve(fuzzCase.path), headers, fuzzCase.body ? Buffer.from(fuzzCase.body, 'base64') : undefined);
    if (typeof response === 'string') return response;
    if (fuzzCase.method === 'DELETE' && response.status < 300) await restoreFixtures();
    if (response.status >= 500) return `answered ${response.status}: ${response.body.toString('utf8', 0, 500)}`;
    if (fuzzCase.expect && !fuzzCase.expect.includes(response.status)) return `answered ${response.status}, expected ${fuzzCase.expect.join(' or ')}`;
    if (response.status >= 400) {
      const problem = checkProblem(response, fuzzCase.method);
      if (problem) return problem;
      const parts = before ? changed(before, await snapshot()) : [];
      if (parts.length) return `refused with ${response.status} but changed ${parts.join(', ')}`;
    }
    return undefined;
  };

  return {
    server,
    openapi,
    fixtures,
    check: (fuzzCase) => (fuzzCase.kind === 'ws' ? checkSocket(server.url, resolve(fuzzCase.path), fuzzCase, auth) : checkHttp(fuzzCase)),
    async alive() {
      return (await server.fetch('/api/health').then((r) => r.status, () => 0)) === 200;
    },
    close: () => server.close(),
  };
}

function checkProblem(response: Response, method: string): string | undefined {
  if (method === 'HEAD') return undefined;
  const type = response.headers['content-type'] ?? '';
  if (!type.startsWith('application/problem+json')) return `answered ${response.status} as ${type || 'no content type'}, not application/problem+json: ${response.body.toString('utf8', 0, 300)}`;
  let body: { status?: unknown; title?: unknown; detail?: unknown };
  try {
    body = JSON.parse(response.body.toString('utf8'));
  } catch {
    return `answered ${response.status} with a problem+json body that is not JSON`;
  }
  if (body.status !== response.status) return `problem+json says status ${String(body.status)} but the response is ${response.status}`;
  if (typeof body.title !== 'string' || typeof body.detail !== 'string' || !body.detail) return `problem+json without a title and a detail: ${JSON.stringify(body)}`;
  return undefined;
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const relative = join(prefix, entry.name);
    // The database's own files change as it works; scratch folders are not state.
    if (!prefix && !['runs', 'sessions'].includes(entry.name)) continue;
    if (entry.isDirectory()) out.push(...(await listFiles(join(dir, entry.name), relative)));
    else out.push(`${relative} ${(await stat(join(dir, entry.name)).catch(() => ({ size: -1 }))).size}`);
  }
  return out.sort();
}

/**
 * One request written byte for byte on a fresh connection (so that framing, headers and encodings
 * can be as broken as the case wants), and the response read until the server closes.
 */
export function send(port: number, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<Response | string> {
  return new Promise((resolve) => {
    const lines = [`${method} ${path} HTTP/1.1`, `host: 127.0.0.1:${port}`, 'connection: close'];
    const names = new Set(Object.keys(headers).map((h) => h.toLowerCase()));
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    if (body && !names.has('content-length') && !names.has('transfer-encoding')) lines.push(`content-length: ${body.length}`);
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const response = parse(Buffer.concat(chunks));
      resolve(response ?? `no HTTP response (${chunks.length ? 'garbled' : 'connection closed without one'})`);
    };
    // Streams (SSE) stay open: what arrived by then decides.
    const timer = setTimeout(finish, REQUEST_TIMEOUT_MS);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', finish);
    socket.on('error', () => {});
    socket.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
    if (body) socket.write(body);
  });
}

function parse(raw: Buffer): Response | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...headerLines] = raw.toString('latin1', 0, end).split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (headers['transfer-encoding']?.includes('chunked')) body = dechunk(body);
  return { status: Number(match[1]), headers, body };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(data.toString('latin1', at, lineEnd), 16);
    if (!size) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** Sends the case's messages on a session socket; the server must answer each with a proper error or a result. */
function checkSocket(base: string, path: string, fuzzCase: SocketCase, headers: Record<string, string>): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}${path}`, { headers });
    const replies: { type?: string; status?: number; message?: string }[] = [];
    let closed: number | undefined;
    let quiet: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(quiet);
      clearTimeout(limit);
      const unexpected = replies.find((r) => r.type === 'error' && (/server hit an unexpected error/i.test(r.message ?? '') || (r.status ?? 400) >= 500));
      if (unexpected) return resolve(`session socket answered ${JSON.stringify(unexpected)}`);
      const knownSession = fuzzCase.path === '/ws/reconstruct/{session}';
      if (knownSession && closed !== undefined && closed !== 1009) return resolve(`session socket closed (${closed}) after bad messages`);
      if (!knownSession && closed !== 1008 && !replies.some((r) => r.type === 'error' && r.status === 404)) {
        return resolve(`unknown session: no 404 error and close 1008 (closed ${closed}, replies ${JSON.stringify(replies).slice(0, 300)})`);
      }
      socket.terminate();
      resolve(undefined);
    };
    const limit = setTimeout(done, REQUEST_TIMEOUT_MS);
    const settle = () => {
      clearTimeout(quiet);
      quiet = setTimeout(done, 400);
    };
    socket.on('message', (data) => {
      try {
        replies.push(JSON.parse(data.toString()));
      } catch {
        replies.push({ type: 'unparsable', message: data.toString().slice(0, 200) });
      }
      settle();
    });
    socket.on('close', (code) => {
      closed = code;
      done();
    });
    socket.on('error', () => {});
    socket.on('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 0;
      resolve(status >= 500 || status < 400 ? `session socket upgrade answered ${status}` : undefined);
    });
    socket.on('open', () => {
      for (const message of fuzzCase.messages) {
        if (typeof message === 'string') socket.send(message);
        else socket.send(Buffer.from(message.binary, 'base64'), { binary: true });
      }
      settle();
    });
  });
}
