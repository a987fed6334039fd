import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';

export interface FalWebhookVerifierOptions {
  /** fal's JWKS (https://rest.alpha.fal.ai/.well-known/jwks.json), or a stand-in's. */
  jwksUrl: string;
  /** Timestamps further than this from now are refused (replays). Default 300 s. */
  maxSkewSeconds?: number;
  /** How long fetched keys are trusted before they are fetched again. Default 24 h. */
  cacheMs?: number;
  /** A signature no cached key verifies makes one refetch (a rotated key), at most this often. Default 60 s. */
  refetchAfterMs?: number;
  now?: () => number;
}

/** Why a webhook was refused; the route answers 401 with it. */
export class WebhookRejected extends Error {}

export interface VerifiedWebhook {
  requestId: string;
  userId: string;
  timestamp: number;
}

interface KeySet {
  keys: KeyObject[];
  fetchedAt: number;
}

/**
 * Checks fal's webhook signatures: ED25519 (hex in `X-Fal-Webhook-Signature`) over
 * `request_id \n user_id \n timestamp \n sha256_hex(raw body)`, against any key of fal's JWKS.
 * Keys are cached; an unknown signature refetches them once (rate-limited, so forged requests
 * cannot make us hammer fal).
 */
export class FalWebhookVerifier {
  readonly #options: Required<FalWebhookVerifierOptions>;
  #keys: Promise<KeySet> | undefined;
  #lastFetch = 0;

  constructor(options: FalWebhookVerifierOptions) {
    this.#options = { maxSkewSeconds: 300, cacheMs: 24 * 3600_000, refetchAfterMs: 60_000, now: Date.now, ...options };
  }

  async verify(headers: Record<string, string | string[] | undefined>, body: Uint8Array): Promise<VerifiedWebhook> {
    const header = (name: string) => {
      const value = headers[name];
      const text = Array.isArray(value) ? value[0] : value;
      if (!text) throw new WebhookRejected(`missing header ${name}`);
      return text;
    };
    const requestId = header('x-fal-webhook-request-id');
    const userId = header('x-fal-webhook-user-id');
    const timestampText = header('x-fal-webhook-timestamp');
    const signatureHex = header('x-fal-webhook-signature');
    const timestamp = Number(timestampText);
    if (!/^\d+$/.test(timestampText)) throw new WebhookRejected('x-fal-webhook-timestamp is not a unix time');
    const skew = Math.abs(this.#options.now() / 1000 - timestamp);
    if (skew > this.#options.maxSkewSeconds) throw new WebhookRejected(`timestamp is ${Math.round(skew)} s away from now (limit ${this.#options.maxSkewSeconds} s)`);
    if (!/^([0-9a-f]{2})+$/i.test(signatureHex)) throw new WebhookRejected('x-fal-webhook-signature is not hex');
    const signature = Buffer.from(signatureHex, 'hex');
    const digest = createHash('sha256').update(body).digest('hex');
    const message = Buffer.from(`${requestId}\n${userId}\n${timestampText}\n${digest}`);
    const matches = (set: KeySet) => set.keys.some((key) => verify(null, message, key, signature));
    let set = await this.#keySet(false);
    if (!matches(set)) {
      const refreshed = await this.#keySet(true);
      if (refreshed === set || !matches(refreshed)) throw new WebhookRejected('signature does not match any of fal’s published keys');
      set = refreshed;
    }
    return { requestId, userId, timestamp };
  }

  async #keySet(refresh: boolean): Promise<KeySet> {
    const now = this.#options.now();
    const current = await this.#keys?.catch(() => undefined);
    const fresh = current && now - current.fetchedAt <= this.#options.cacheMs;
    const mayRefetch = now - this.#lastFetch >= this.#options.refetchAfterMs;
    if (fresh && !(refresh && mayRefetch)) return current;
    this.#lastFetch = now;
    this.#keys = this.#fetch();
    return this.#keys;
  }

  async #fetch(): Promise<KeySet> {
    let response: Response;
    try {
      response = await fetch(this.#options.jwksUrl, { signal: AbortSignal.timeout(10_000) });
    } catch (error) {
      throw new Error(`could not fetch fal's webhook keys from ${this.#options.jwksUrl}: ${(error as Error).message}`);
    }
    if (!response.ok) throw new Error(`fal's webhook keys at ${this.#options.jwksUrl} answered HTTP ${response.status}`);
    const jwks = (await response.json()) as { keys?: Record<string, unknown>[] };
    const keys = (jwks.keys ?? [])
      .filter((jwk) => jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && typeof jwk.x === 'string')
      .map((jwk) => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string }, format: 'jwk' }));
    if (!keys.length) throw new Error(`fal's webhook key set at ${this.#options.jwksUrl} has no Ed25519 key`);
    return { keys, fetchedAt: this.#options.now() };
  }
}
