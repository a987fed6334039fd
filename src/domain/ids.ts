import { randomBytes } from 'node:crypto';

export const RUN_ID_PATTERN = /^run_\d{10,16}_[a-z0-9]{6,12}$/;

/** Run ids keep the seed's shape (`run_<ms>_<random>`), so they sort by creation time. */
export function newRunId(now = Date.now()): string {
  return `run_${now}_${randomToken(8)}`;
}

export function isRunId(value: string): boolean {
  return RUN_ID_PATTERN.test(value);
}

export function randomToken(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}
