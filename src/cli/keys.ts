import { parseArgs } from 'node:util';
import { KeysCliError } from './args.ts';
import { ApiKeyService, type ApiKeyView } from '../auth/key-service.ts';
import { loadConfig } from '../config.ts';
import { ApiKeysRepository } from '../db/api-keys-repository.ts';
import { DataDirLockedError } from '../db/data-dir-lock.ts';
import { openStore } from '../db/database.ts';

const USAGE = `Usage:
  recon keys create [--name NAME] [--admin] [--json]   prints the new key once; the first key
                                                       is always an admin key (it turns auth on)
  recon keys list [--all] [--json]                     --all includes revoked keys
  recon keys revoke ID [--json]

Talks to the server at RECON_URL (with RECON_API_KEY) when set; otherwise works on the data
folder directly, or through the local server when one holds the folder.`;

interface KeyBackend {
  create(input: { name?: string; admin: boolean }): Promise<ApiKeyView & { key: string }>;
  list(includeRevoked: boolean): Promise<ApiKeyView[]>;
  revoke(id: string): Promise<void>;
  close(): Promise<void>;
}

/** `recon keys …`: prints to stdout, throws KeysCliError for the user's mistakes. */
export async function keysCommand(args: string[], env: Record<string, string | undefined> = process.env): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      admin: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [action, ...rest] = positionals;
  if (values.help || !action) return console.log(USAGE);
  const backend = await openBackend(env);
  try {
    switch (action) {
      case 'create': {
        const key = await backend.create({ ...(values.name && { name: values.name }), admin: values.admin });
        if (values.json) console.log(JSON.stringify({ id: key.id, key: key.key, name: key.name, admin: key.admin }));
        else {
          console.log(`Created ${key.admin ? 'admin ' : ''}key ${key.id} (${key.name}). It is shown only this once:\n\n  ${key.key}\n`);
          if (key.admin && !values.admin) {
            console.log(
              'It is an admin key because it is the first one: from now on every request needs a key, and\n' +
                'admin keys are the ones that can create more keys and read /metrics. Make ordinary keys with it.',
            );
          }
        }
        return;
      }
      case 'list': {
        const keys = await backend.list(values.all);
        if (values.json) return console.log(JSON.stringify({ keys }));
        if (!keys.length) return console.log('No API keys: a server bound to loopback is open to its local user.');
        for (const k of keys) {
          const state = k.revokedAt ? `revoked ${k.revokedAt}` : 'active';
          console.log(`${k.id}  ${k.admin ? 'admin' : 'user '}  ${state.padEnd(8)}  created ${k.createdAt}  ${k.name}`);
        }
        return;
      }
      case 'revoke': {
        const id = rest[0];
        if (!id) throw new KeysCliError('Usage: recon keys revoke ID');
        await backend.revoke(id);
        if (values.json) console.log(JSON.stringify({ id, revoked: true }));
        else console.log(`Revoked ${id}`);
        return;
      }
      default:
        throw new KeysCliError(`Unknown keys command "${action}".\n\n${USAGE}`);
    }
  } finally {
    await backend.close();
  }
}

async function openBackend(env: Record<string, string | undefined>): Promise<KeyBackend> {
  if (env.RECON_URL) return httpBackend(env.RECON_URL, env.RECON_API_KEY);
  const config = loadConfig(env);
  try {
    const store = await openStore(config);
    return storeBackend(new ApiKeyService(new ApiKeysRepository(store.db)), () => store.close());
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    // A server holds the folder: ask it (on loopback without keys, we are its local admin).
    const host = ['0.0.0.0', '::', '[::]'].includes(config.host) ? '127.0.0.1' : config.host;
    return httpBackend(`http://${host.includes(':') ? `[${host}]` : host}:${config.port}`, env.RECON_API_KEY);
  }
}

function storeBackend(keys: ApiKeyService, close: () => Promise<void>): KeyBackend {
  return {
    create: (input) => keys.create(input),
    list: (includeRevoked) => keys.list({ includeRevoked }),
    async revoke(id) {
      if (!(await keys.revoke(id))) throw new KeysCliError(`No active key ${id}`);
    },
    close,
  };
}

function httpBackend(baseUrl: string, apiKey: string | undefined): KeyBackend {
  const call = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const headers = new Headers(init.headers);
    if (apiKey) headers.set('authorization', `Bearer ${apiKey}`);
    let response: Response;
    try {
      response = await fetch(new URL(path, baseUrl), { ...init, headers });
    } catch (error) {
      throw new KeysCliError(`Could not reach the server at ${baseUrl}: ${(error as Error).message}`);
    }
    const text = await response.text();
    const body = text ? JSON.parse(text) : undefined;
    if (!response.ok) throw new KeysCliError(`${baseUrl}: ${response.status} ${body?.detail ?? body?.title ?? ''}`.trim());
    return body as T;
  };
  return {
    create: (input) =>
      call('/api/keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) }),
    list: async (includeRevoked) => (await call<{ keys: ApiKeyView[] }>(`/api/keys?revoked=${includeRevoked}`)).keys,
    async revoke(id) {
      await call(`/api/keys/${encodeURIComponent(id)}`, { method: 'DELETE' });
    },
    async close() {},
  };
}
