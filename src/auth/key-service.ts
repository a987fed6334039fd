import type { ApiKeysRepository } from '../db/api-keys-repository.ts';
import type { ApiKeyRow } from '../db/schema.ts';
import { hashKey, keyIdOf, keyMatches, newApiKey } from './api-key.ts';

/** Who made a request, once its key checked out. */
export interface Principal {
  keyId: string;
  admin: boolean;
}

export interface ApiKeyView {
  id: string;
  name: string;
  admin: boolean;
  createdAt: string;
  revokedAt?: string;
  /** Keys from RECON_API_KEYS live in the environment, not the database, and cannot be revoked here. */
  source: 'database' | 'environment';
}

// Other processes (Postgres deployments) may create or revoke keys; this bounds how long a
// revocation elsewhere takes to reach this process.
const CACHE_MS = 2000;

/** Creates, lists, revokes and checks API keys. Keys are kept only as hashes. */
export class ApiKeyService {
  readonly #repo: ApiKeysRepository;
  readonly #envKeys: { id: string; hash: string }[];
  #count: { value: number; at: number } | undefined;
  readonly #cache = new Map<string, { row: ApiKeyRow | undefined; at: number }>();

  constructor(repo: ApiKeysRepository, envKeys: string[] = []) {
    this.#repo = repo;
    this.#envKeys = envKeys.map((key) => {
      const hash = hashKey(key);
      return { id: `env-${hash.slice(0, 10)}`, hash };
    });
  }

  /**
   * The first key is always an admin key: it switches authentication on, and an ordinary one would
   * leave nobody able to create keys or read /metrics.
   */
  async create(input: { name?: string | undefined; admin?: boolean | undefined }): Promise<ApiKeyView & { key: string }> {
    const { id, key } = newApiKey();
    const createdAt = new Date();
    const name = input.name?.trim() || id;
    const admin = input.admin === true || !(await this.anyActive());
    await this.#repo.insert({ id, name, hash: hashKey(key), admin, created_at: createdAt });
    this.#count = undefined;
    return { id, key, name, admin, createdAt: createdAt.toISOString(), source: 'database' };
  }

  async list(options: { includeRevoked?: boolean; onlyId?: string } = {}): Promise<ApiKeyView[]> {
    const rows = await this.#repo.list({ includeRevoked: options.includeRevoked ?? false, ...(options.onlyId && { id: options.onlyId }) });
    const env = this.#envKeys
      .filter((k) => !options.onlyId || k.id === options.onlyId)
      .map((k) => ({ id: k.id, name: 'RECON_API_KEYS', admin: true, createdAt: new Date(0).toISOString(), source: 'environment' as const }));
    return [...env, ...rows.map(toView)];
  }

  /** False when the key did not exist or was already revoked. */
  async revoke(id: string): Promise<boolean> {
    const revoked = await this.#repo.revoke(id);
    this.#cache.delete(id);
    this.#count = undefined;
    return revoked;
  }

  /** Whether any key could authenticate: from then on, requests must carry one. */
  async anyActive(): Promise<boolean> {
    if (this.#envKeys.length) return true;
    const now = Date.now();
    if (!this.#count || now - this.#count.at > CACHE_MS) this.#count = { value: await this.#repo.countActive(), at: now };
    return this.#count.value > 0;
  }

  /** The principal a presented key stands for, or undefined for an unknown, malformed or revoked key. */
  async authenticate(key: string): Promise<Principal | undefined> {
    for (const env of this.#envKeys) if (keyMatches(key, env.hash)) return { keyId: env.id, admin: true };
    const id = keyIdOf(key);
    if (!id) return undefined;
    const now = Date.now();
    let cached = this.#cache.get(id);
    if (!cached || now - cached.at > CACHE_MS) {
      cached = { row: await this.#repo.findActive(id), at: now };
      // Made-up ids must not grow the cache without bound.
      if (this.#cache.size >= 10_000) this.#cache.clear();
      this.#cache.set(id, cached);
    }
    const row = cached.row;
    return row && keyMatches(key, row.hash) ? { keyId: row.id, admin: row.admin } : undefined;
  }
}

function toView(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    admin: row.admin,
    createdAt: row.created_at.toISOString(),
    ...(row.revoked_at && { revokedAt: row.revoked_at.toISOString() }),
    source: 'database',
  };
}
