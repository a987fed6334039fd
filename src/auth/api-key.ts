import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { randomToken } from '../domain/ids.ts';

const KEY_FORMAT = /^recon_(k[a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** A new key: `recon_<id>_<256 random bits, base64url>`. The id lets a lookup find the row. */
export function newApiKey(): { id: string; key: string } {
  const id = `k${randomToken(12)}`;
  return { id, key: `recon_${id}_${randomBytes(32).toString('base64url')}` };
}

/** The key id a presented key claims, or undefined when it is not shaped like one of ours. */
export function keyIdOf(key: string): string | undefined {
  return KEY_FORMAT.exec(key)?.[1];
}

/** Keys carry 256 random bits, so one unsalted SHA-256 is enough: there is nothing to guess. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Compares a presented key with a stored hash in time independent of where they differ. */
export function keyMatches(key: string, storedHash: string): boolean {
  const presented = Buffer.from(hashKey(key), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** The key of an `Authorization: Bearer <key>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
