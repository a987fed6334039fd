// The web app's one door to the server: the SDK's browser-safe client, plus the shapes the
// pages use. Types come from the server's own run model. Every request carries the saved API
// key; a 401 anywhere is reported so the key prompt can appear.
import type { RunView } from '../../src/contract/runs.ts';
import { ReconApiError, ReconClient, ReconConnectionError } from '../../src/sdk/client.ts';
import { getApiKey, keyEvents, reportUnauthorized } from './api-key.ts';

export type Run = RunView;

export interface EngineInfo {
  id: string;
  title: string;
  description: string;
  available: boolean;
  reason?: string;
  default: boolean;
  limits: { minImages: number; maxImages: number };
  produces: string[];
  settingsSchema: JsonSchema;
  /** A pipeline's stages and their default engines. */
  stages?: { name: string; engine: string }[];
  /** A pipeline stage's engine: what it reads from earlier stages (it is chosen inside a pipeline). */
  consumes?: string[];
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  anyOf?: JsonSchema[];
  [key: string]: unknown;
}

export interface CameraInfo {
  index: number;
  imageName?: string;
  extrinsic: number[][];
  intrinsic?: number[][];
  position: number[];
  threeMatrix: number[];
}

export interface CamerasResponse {
  numFrames: number;
  cameras: CameraInfo[];
  imageShape?: number[];
}

const watchingFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (response.status === 401) reportUnauthorized();
  return response;
};

const makeClient = () => new ReconClient(location.origin, { ...(getApiKey() && { apiKey: getApiKey() }), fetch: watchingFetch });
let client = makeClient();
keyEvents.addEventListener('change', () => {
  client = makeClient();
});

export { ReconApiError as ApiError };

/** Whether the server accepts `key`: 'ok', 'refused' (401), or the error that got in the way. */
export async function checkApiKey(key: string): Promise<'ok' | 'refused' | Error> {
  try {
    await new ReconClient(location.origin, { apiKey: key }).list({ limit: 1 });
    return 'ok';
  } catch (error) {
    if (error instanceof ReconApiError && error.status === 401) return 'refused';
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** GET with the key, for what `<img src>` and `<a href>` cannot authorize themselves. */
async function fetchBlob(path: string, signal?: AbortSignal): Promise<{ blob: Blob; fileName: string | undefined }> {
  const response = await client.send('GET', path, signal ? { signal } : {});
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    throw new ReconApiError(response.status, body, { method: 'GET', url: client.url(path) });
  }
  return { blob: await response.blob(), fileName: fileNameOf(response.headers.get('content-disposition')) };
}

function fileNameOf(disposition: string | null): string | undefined {
  if (!disposition) return undefined;
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
  if (encoded) {
    try {
      return decodeURIComponent(encoded);
    } catch {}
  }
  return /filename="?([^";]+)"?/i.exec(disposition)?.[1];
}

/** Saves a server file (an artifact) the way a `download` link would, but with the key. */
export async function downloadFile(url: string): Promise<void> {
  const { blob, fileName } = await fetchBlob(url);
  const href = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement('a'), { href, download: fileName ?? url.split('/').pop() ?? 'download' });
  document.body.append(link);
  link.click();
  link.remove();
  // The click only starts the save; the blob must outlive it.
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

/** A message for people: the problem's detail plus per-field errors when there are any. */
export function describeError(error: unknown): string {
  if (error instanceof ReconApiError && error.status === 401) {
    return getApiKey()
      ? 'The server refused the saved API key (unknown or revoked). Enter another one with “API key” at the top.'
      : 'This server needs an API key. Enter one with “API key” at the top.';
  }
  if (error instanceof ReconApiError) {
    const errors = error.extra.errors;
    const fields = Array.isArray(errors)
      ? (errors as { path?: string; message?: string }[]).map((e) => `${e.path ? `${e.path}: ` : ''}${e.message}`)
      : [];
    return [error.detail, ...fields].join(' — ');
  }
  if (error instanceof ReconConnectionError || error instanceof TypeError) {
    return 'Could not reach the Recon server. Check that it is running, then try again.';
  }
  return error instanceof Error ? error.message : String(error);
}

export interface ListQuery {
  status?: string;
  engine?: string;
  limit: number;
  offset: number;
}

export const api = {
  engines: () => client.engines() as Promise<{ engines: EngineInfo[]; default: string | null }>,
  createRun: (input: { engine: string; settings: Record<string, unknown> }) => client.createRun(input),
  process: (runId: string) => client.process(runId),
  getRun: (runId: string) => client.get(runId),
  cancel: (runId: string) => client.cancel(runId),
  rerun: (runId: string, settings: Record<string, unknown>) => client.rerun(runId, { settings }),
  cameras: (runId: string) => client.cameras(runId) as Promise<CamerasResponse>,
  listRuns: (query: ListQuery) =>
    client.list({
      ...(query.status && { status: query.status as Run['status'] }),
      ...(query.engine && { engine: query.engine }),
      limit: query.limit,
      offset: query.offset,
    }),
  /** An artifact's bytes, fetched with the key (for viewers that take bytes, like Spark's). */
  artifactBytes: async (runId: string, kind: string, signal?: AbortSignal) =>
    new Uint8Array(await (await fetchBlob(`/api/runs/${encodeURIComponent(runId)}/artifacts/${encodeURIComponent(kind)}`, signal)).blob.arrayBuffer()),
  /** A blob: URL of an artifact (an image: the training preview); revoke it when done. */
  artifactObjectUrl: async (runId: string, kind: string, signal?: AbortSignal) =>
    URL.createObjectURL((await fetchBlob(`/api/runs/${encodeURIComponent(runId)}/artifacts/${encodeURIComponent(kind)}`, signal)).blob),
  rerunFrom: (runId: string, fromStage: string, settings: Record<string, unknown>) => client.rerun(runId, { fromStage, settings }),
  /** A blob: URL of the run's photo (revoke it when done); fetched with the key. */
  imageObjectUrl: async (runId: string, name: string, signal?: AbortSignal) =>
    URL.createObjectURL((await fetchBlob(`/api/runs/${encodeURIComponent(runId)}/images/${encodeURIComponent(name)}`, signal)).blob),
  /** EventSource cannot send headers: the server takes the key as ?api_key= on this one route. */
  streamUrl: (runId: string) => {
    const key = getApiKey();
    return `/api/runs/${encodeURIComponent(runId)}/stream${key ? `?api_key=${encodeURIComponent(key)}` : ''}`;
  },
  /** Headers for loaders that fetch by themselves (the scene's GLB). */
  authHeaders: () => client.authHeaders(),
};

/** Uploads files in one multipart request, reporting bytes sent (XHR in the SDK). */
export async function uploadImages(
  runId: string,
  files: File[],
  onProgress: (loaded: number, total: number) => void,
  signal?: AbortSignal,
): Promise<{ imagesUploaded: number; images: string[] }> {
  try {
    return await client.uploadImages(runId, files, { onProgress: (p) => onProgress(p.loaded, p.total), ...(signal && { signal }) });
  } catch (error) {
    // XHR, not fetch: the watching fetch does not see this one.
    if (error instanceof ReconApiError && error.status === 401) reportUnauthorized();
    throw error;
  }
}

const blobUrls = new Map<string, Promise<string>>();

/**
 * Blueprints, through the SDK. Stored photos, masks and generated images never change once
 * written, so their blob: URLs (fetched with the key) are made once and kept.
 */
export const blueprintApi = {
  client: () => client.blueprints,
  imageUrl(path: string): Promise<string> {
    let url = blobUrls.get(path);
    if (!url) {
      url = fetchBlob(path).then(({ blob }) => URL.createObjectURL(blob));
      url.catch(() => blobUrls.delete(path));
      blobUrls.set(path, url);
    }
    return url;
  },
  /** EventSource cannot send headers: the server takes the key as ?api_key= on stream routes. */
  streamUrl(id: string, lastEventId: number) {
    const key = getApiKey();
    const query = new URLSearchParams({ lastEventId: String(lastEventId), ...(key && { api_key: key }) });
    return `/api/blueprints/${encodeURIComponent(id)}/stream?${query}`;
  },
  async uploadPhotos(id: string, files: File[], onProgress: (loaded: number, total: number) => void) {
    try {
      return await client.blueprints.uploadPhotos(id, files, { onProgress: (p) => onProgress(p.loaded, p.total) });
    } catch (error) {
      if (error instanceof ReconApiError && error.status === 401) reportUnauthorized();
      throw error;
    }
  },
};
