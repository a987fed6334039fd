import { isRunId, randomToken } from '../domain/ids.ts';

const SAFE_KEY = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[^\0\\]+$/;
const STAGED_NAME = /^(\d{13})-[a-z0-9]{10}$/;

/** Refuses a run id or key that could step outside the run's folder (or prefix): `..`, absolute paths, NUL, backslashes. */
export function assertRunKey(runId: string, key: string): void {
  if (!isRunId(runId)) throw new Error(`Invalid run id ${JSON.stringify(runId)}`);
  if (key && (!SAFE_KEY.test(key) || key.startsWith('/'))) throw new Error(`Invalid blob key ${JSON.stringify(key)}`);
}

/** A fresh name in the staging area; it carries its creation time, so a sweep needs no metadata to judge its age. */
export function stagingName(now = Date.now()): string {
  return `${String(now).padStart(13, '0')}-${randomToken(10)}`;
}

/** When a staged name was made; undefined for anything that is not a staged name. */
export function stagedAt(name: string): Date | undefined {
  const match = STAGED_NAME.exec(name);
  return match ? new Date(Number(match[1])) : undefined;
}
