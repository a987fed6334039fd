import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { hostOf, isBlockedAddress, refuseUrlText } from './address-guard.ts';

/** Resolves a host name to every address it has (injectable, so tests never touch real DNS). */
export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolve: Resolve = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** The target is refused by the SSRF guard: nothing was sent. */
export class RefusedTarget extends Error {
  override name = 'RefusedTarget';
}

export interface SendResult {
  statusCode: number;
  /** From a Retry-After header (seconds or an HTTP date), when the receiver sent one. */
  retryAfterMs: number | undefined;
  durationMs: number;
}

export interface SenderOptions {
  allowPrivate: boolean;
  timeoutMs: number;
  resolve?: Resolve;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * POSTs one webhook. The connection goes to an address this function resolved and checked itself
 * (through the socket's `lookup`), so a name that resolves to a private address — or changes its
 * answer between a check and the connect (DNS rebinding) — is refused before any byte leaves.
 */
export class WebhookSender {
  readonly #options: SenderOptions;
  readonly #resolve: Resolve;

  constructor(options: SenderOptions) {
    this.#options = options;
    this.#resolve = options.resolve ?? systemResolve;
  }

  async send(target: string, headers: Record<string, string>, body: string, signal?: AbortSignal): Promise<SendResult> {
    const refused = refuseUrlText(target, this.#options.allowPrivate);
    if (refused) throw new RefusedTarget(refused);
    const url = new URL(target);
    const host = hostOf(url);
    const allowPrivate = this.#options.allowPrivate;
    const resolve = this.#resolve;
    const lookup = (hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
      resolve(hostname).then(
        (addresses) => {
          if (!addresses.length) return callback(Object.assign(new Error(`${hostname} has no addresses`), { code: 'ENOTFOUND' }));
          const bad = allowPrivate ? undefined : addresses.find((a) => isBlockedAddress(a.address));
          if (bad) {
            return callback(new RefusedTarget(`${hostname} resolves to ${bad.address}, a loopback, private, link-local or metadata address`));
          }
          if (options.all) return callback(null, addresses);
          const first = addresses[0] as LookupAddress;
          callback(null, first.address, first.family);
        },
        (error) => callback(error),
      );
    };
    const started = performance.now();
    return new Promise<SendResult>((resolvePromise, reject) => {
      const request = (url.protocol === 'https:' ? https : http).request(url, {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        // A fresh connection per delivery: a pooled socket would skip the address check.
        agent: false,
        ...(isIP(host) ? {} : { lookup: lookup as never }),
        ...(signal && { signal }),
      });
      const timer = setTimeout(() => request.destroy(new Error(`no response within ${this.#options.timeoutMs} ms`)), this.#options.timeoutMs);
      request.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      request.on('response', (response) => {
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > MAX_RESPONSE_BYTES) response.destroy();
        });
        const done = () => {
          clearTimeout(timer);
          const retryAfter = response.headers['retry-after'];
          resolvePromise({
            statusCode: response.statusCode ?? 0,
            retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
            durationMs: Math.round(performance.now() - started),
          });
        };
        response.on('end', done);
        response.on('close', done);
        response.on('error', done);
      });
      request.end(body);
    });
  }
}
