import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { EngineError } from '../engine.ts';
import { messageOf, networkCode, networkError } from './errors.ts';

export interface Download {
  ok: boolean;
  status: number;
  /** The start of the body when the Space refused (for the message). */
  detail?: string;
}

/** Fetches `url` into `file` (temp name, then rename); a refusal comes back as `ok: false`. */
export async function downloadFile(
  url: string,
  file: string,
  options: { token?: string; signal: AbortSignal; timeoutMs: number; space: string; what: string },
): Promise<Download> {
  let response: Response;
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]);
  try {
    response = await fetch(url, { headers: options.token ? { authorization: `Bearer ${options.token}` } : {}, signal });
  } catch (error) {
    options.signal.throwIfAborted();
    throw networkError(options.space, `downloading ${options.what}`, error);
  }
  if (!response.ok || !response.body) {
    const detail = (await response.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 200);
    return { ok: false, status: response.status, detail };
  }
  const temp = `${file}.part`;
  try {
    await pipeline(Readable.fromWeb(response.body as WebReadableStream), createWriteStream(temp), { signal });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    options.signal.throwIfAborted();
    if (networkCode(error)) throw networkError(options.space, `downloading ${options.what}`, error);
    throw new EngineError(`Could not save ${options.what} from the Space: ${messageOf(error)}`, { transient: true, cause: error });
  }
  return { ok: true, status: response.status };
}

export async function startsWith(file: string, magic: string): Promise<boolean> {
  const handle = await open(file);
  try {
    const buffer = Buffer.alloc(magic.length);
    const { bytesRead } = await handle.read(buffer, 0, magic.length, 0);
    return bytesRead === magic.length && buffer.toString('latin1') === magic;
  } finally {
    await handle.close();
  }
}

/** `{root}{api_prefix}/file=<path>`, each path segment encoded as @gradio/client does. */
export function gradioFileUrl(root: string, apiPrefix: string, path: string): string {
  const encoded = path
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
  return `${root.replace(/\/$/, '')}${apiPrefix}/file=${encoded}`;
}
