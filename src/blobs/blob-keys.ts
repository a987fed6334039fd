import { isRunId, randomToken } from '../domain/ids.ts';

const SAFE_KEY = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[^\0\\]+$/;
const STAGED_NAME = /^(\d{13})-[a-z0-9]{10}$/;

/**
 * What kind of owner a store's files belong to: its top folder (`runs/<runId>/…`) and which ids
 * name an owner. Runs by default; blueprints keep their files in an area of their own.
 */
export interface BlobArea {
  name: string;
  isScope(id: string): boolean;
}

export const RUN_AREA: BlobArea = { name: 'runs', isScope: isRunId };

/** Refuses an owner id or key that could step outside the owner's folder (or prefix): `..`, absolute paths, NUL, backslashes. */
export function assertScopedKey(area: BlobArea, scope: string, key: string): void {
  if (!area.isScope(scope)) throw new Error(`Invalid ${area.name.replace(/s$/, '')} id ${JSON.stringify(scope)}`);
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
