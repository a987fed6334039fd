// The web app's one door to the server: the SDK's browser-safe client, plus the shapes the
// pages use. Types come from the server's own run model.
import type { RunView } from '../../src/core/run-model.ts';
import { ReconApiError, ReconClient, ReconConnectionError } from '../../src/sdk/client.ts';

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

const client = new ReconClient(location.origin);

export { ReconApiError as ApiError };

/** A message for people: the problem's detail plus per-field errors when there are any. */
export function describeError(error: unknown): string {
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
  imageUrl: (runId: string, name: string) => `/api/runs/${runId}/images/${encodeURIComponent(name)}`,
  streamUrl: (runId: string) => `/api/runs/${runId}/stream`,
};

/** Uploads files in one multipart request, reporting bytes sent (XHR in the SDK). */
export async function uploadImages(
  runId: string,
  files: File[],
  onProgress: (loaded: number, total: number) => void,
  signal?: AbortSignal,
): Promise<{ imagesUploaded: number; images: string[] }> {
  return client.uploadImages(runId, files, { onProgress: (p) => onProgress(p.loaded, p.total), ...(signal && { signal }) });
}
