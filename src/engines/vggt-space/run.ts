import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, FileData } from '@gradio/client';
import { readNpz } from '../../formats/npz.ts';
import { type EngineContext, EngineError } from '../engine.ts';
import {
  busyError,
  callError,
  connectError,
  messageOf,
  missingEndpointError,
  networkCode,
  networkError,
} from './errors.ts';
import { type CallStatus, callEndpoint } from './gradio-call.ts';
import { gradioDemoInputs, type VggtSpaceSettings } from './settings.ts';
import { downloadFile, gradioFileUrl, startsWith } from './space-files.ts';

export interface VggtSpaceOptions {
  /** A Space id (owner/name) or the URL of a Gradio app serving the VGGT demo. */
  space: string;
  token?: string;
  maxQuotaWaitMs: number;
  /** A call fails (transiently) when the Space sends nothing for this long. */
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  /** How long a starting Space (HTTP 502/503/504) is waited for before the attempt gives up. */
  wakeTimeoutMs: number;
  downloadTimeoutMs: number;
}

export const UPLOAD_ENDPOINT = '/update_gallery_on_upload';
export const DEMO_ENDPOINT = '/gradio_demo';

type Context = EngineContext<VggtSpaceSettings>;

export async function runVggtSpace(ctx: Context, options: VggtSpaceOptions): Promise<void> {
  const { space } = options;
  ctx.progress('connecting', 0, `connecting to the Space ${space}`);
  const client = await connect(ctx, options);
  try {
    requireEndpoints(client, space);
    const files = await uploadImages(client, ctx, options);

    const gallery = await call(client, UPLOAD_ENDPOINT, [null, files], ctx, options, { queued: 0.2, running: 'preparing', from: 0.22, to: 0.28 });
    const [, targetDir, , uploadMessage] = gallery;
    if (typeof uploadMessage === 'string' && uploadMessage) ctx.log(`Space: ${uploadMessage}`);
    if (typeof targetDir !== 'string' || !targetDir || targetDir === 'None') {
      throw new EngineError(`The Space did not take the images: ${describe(uploadMessage) || 'it returned no working folder'}`, {
        hint: 'Check that the images are JPEG or PNG files the Space can read',
      });
    }
    ctx.log(`Space working folder: ${targetDir}`);

    const demo = await call(client, DEMO_ENDPOINT, gradioDemoInputs(targetDir, ctx.settings, ctx.inputs), ctx, options, {
      queued: 0.3,
      running: 'inference',
      from: 0.3,
      to: 0.88,
    });
    const [scene, logMarkdown] = demo;
    if (typeof logMarkdown === 'string' && logMarkdown) ctx.log(`Space: ${logMarkdown}`);
    const sceneFile = scene as { url?: string; path?: string } | null;
    if (!sceneFile || (!sceneFile.url && !sceneFile.path)) {
      throw new EngineError(`The Space returned no scene: ${describe(logMarkdown) || 'its result was empty'}`, {
        hint: 'The run log has the Space\'s messages',
      });
    }
    const root = client.config?.root ?? space;
    const apiPrefix = client.config?.api_prefix ?? '';
    await fetchScene(ctx, options, sceneFile.url ?? gradioFileUrl(root, apiPrefix, sceneFile.path!));
    await fetchPredictions(ctx, options, gradioFileUrl(root, apiPrefix, `${targetDir}/predictions.npz`));
  } finally {
    client.close();
  }
}

/**
 * A Space that is starting (or waking, or rebuilding) answers 502/503/504 for its config: wait for
 * it with status updates, polling ever less often, up to `wakeTimeoutMs`.
 */
async function connect(ctx: Context, options: VggtSpaceOptions): Promise<Client> {
  const started = Date.now();
  for (let pollMs = 250; ; pollMs = Math.min(pollMs * 2, 5000)) {
    try {
      return await connectOnce(ctx, options);
    } catch (error) {
      const waited = Date.now() - started;
      if (!(error instanceof StartingError) || waited + pollMs > options.wakeTimeoutMs) throw error;
      ctx.progress('waking', 0, `the Space is starting (HTTP ${error.status}); waiting for it (${Math.round(waited / 1000)} s so far)`);
      await sleep(pollMs, undefined, { signal: ctx.signal });
    }
  }
}

class StartingError extends EngineError {
  readonly status: string;
  constructor(error: EngineError, status: string) {
    super(error.message, { transient: true, retryAfterMs: error.retryAfterMs, cause: error.cause });
    this.status = status;
  }
}

async function connectOnce(ctx: Context, options: VggtSpaceOptions): Promise<Client> {
  const { space, token } = options;
  let spaceStatus: { status: string; message: string; detail?: string } | undefined;
  // The Gradio client loads when a run first needs the Space, not at the server's start-up.
  const { Client } = await import('@gradio/client');
  const connecting = Client.connect(space, {
    ...(token && { token: token as `hf_${string}` }),
    events: ['data', 'status', 'log'],
    status_callback: (status: { status: string; message: string; detail?: string }) => {
      spaceStatus = status;
      if (['sleeping', 'building', 'starting'].includes(status.status)) {
        ctx.progress('waking', 0, `the Space is ${status.status} (${status.detail}): ${status.message}`);
      }
    },
  });
  connecting.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  let client: Client;
  try {
    client = await Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new EngineError(`The Space ${space} did not answer within ${Math.round(options.connectTimeoutMs / 1000)} s; retrying`, { transient: true })),
          options.connectTimeoutMs,
        );
      }),
      aborted(ctx.signal),
    ]);
  } catch (error) {
    ctx.signal.throwIfAborted();
    if (error instanceof EngineError) throw error;
    const classified = connectError(space, error, !!token);
    const status = /received status (50[234])/.exec(messageOf(error))?.[1];
    throw status ? new StartingError(classified, status) : classified;
  } finally {
    clearTimeout(timer);
  }
  if (!client.config) {
    client.close();
    // With a status callback the client hands a Space that is not running to it instead of throwing.
    const status = spaceStatus?.status;
    if (status === 'paused') {
      throw new EngineError(`The Space ${space} has been paused by its author`, {
        hint: 'Duplicate the Space to your account and set VGGT_SPACE to the copy, or use another engine',
      });
    }
    if (status === 'space_error' || status === 'error') {
      throw new EngineError(`The Space ${space} is not working (${spaceStatus?.detail ?? 'error'}): ${spaceStatus?.message}`, {
        hint: 'The Space\'s page on huggingface.co shows its logs; try again once its author has fixed it',
      });
    }
    throw new EngineError(`The Space ${space} is ${status ?? 'not ready'} and did not come up in time; retrying`, {
      transient: true,
      retryAfterMs: 30_000,
    });
  }
  return client;
}

function requireEndpoints(client: Client, space: string) {
  const dependencies: { api_name?: string | false | null }[] = client.config?.dependencies ?? [];
  const inConfig = dependencies.filter((d) => d.api_name).map((d) => `/${d.api_name}`);
  const missing = [UPLOAD_ENDPOINT, DEMO_ENDPOINT].filter((e) => !inConfig.includes(e));
  if (!missing.length) return;
  const fromInfo = Object.keys(client.api_info?.named_endpoints ?? {});
  throw missingEndpointError(space, missing, fromInfo.length ? fromInfo : inConfig);
}

/** One request per image so that the run shows upload progress; names are kept (the Space copies by name). */
async function uploadImages(client: Client, ctx: Context, options: VggtSpaceOptions): Promise<FileData[]> {
  const { FileData } = await import('@gradio/client');
  const root = client.config!.root;
  const files: FileData[] = [];
  for (const [i, input] of ctx.inputs.entries()) {
    ctx.signal.throwIfAborted();
    const name = basename(input);
    ctx.progress('uploading', 0.2 * (i / ctx.inputs.length), `uploading ${name} (${i + 1}/${ctx.inputs.length}) to the Space`);
    const file = new File([await readFile(input)], name);
    let response: { files?: string[]; error?: string };
    try {
      response = await client.upload_files(root, [file]);
    } catch (error) {
      throw networkError(options.space, `uploading ${name}`, error);
    }
    if (response.error || !response.files?.[0]) throw uploadError(options, name, response.error ?? 'no file path in the answer');
    files.push(new FileData({ path: response.files[0], orig_name: name, size: file.size }));
  }
  ctx.progress('uploading', 0.2, `uploaded ${files.length} images to the Space`);
  return files;
}

function uploadError(options: VggtSpaceOptions, name: string, error: string): EngineError {
  const status = Number(/^HTTP (\d{3})/.exec(error)?.[1]);
  if (status === 503 || status === 429) return busyError(options.space);
  if (status === 401 || status === 403) {
    return new EngineError(`The Space refused the upload of ${name} (HTTP ${status}): check HF_TOKEN`, {
      hint: 'Set HF_TOKEN to a valid token with access to the Space',
    });
  }
  if (status === 413) return new EngineError(`The Space refused ${name} as too large (HTTP 413)`, { hint: 'Scale the image down before uploading' });
  return new EngineError(`Uploading ${name} to the Space failed: ${error}`, { transient: !status || status >= 500 });
}

interface CallStages {
  /** Overall progress while queued. */
  queued: number;
  /** The stage name while the Space works on the call. */
  running: string;
  from: number;
  to: number;
}

function call(client: Client, endpoint: string, data: unknown[], ctx: Context, options: VggtSpaceOptions, stages: CallStages) {
  const phase = endpoint === UPLOAD_ENDPOINT ? 'preparing the images' : 'reconstructing';
  return callEndpoint(client, endpoint, data, {
    signal: ctx.signal,
    idleTimeoutMs: options.idleTimeoutMs,
    onLog: (line) => ctx.log(`Space: ${line}`),
    onStatus: (status) => reportStatus(ctx, status, endpoint, stages),
    onError: (status) => callError(options.space, endpoint, status, { maxQuotaWaitMs: options.maxQuotaWaitMs, tokenSet: !!options.token, phase }),
    dropped: (where) =>
      new EngineError(`The connection to the Space ${options.space} dropped while the run was ${where} (${phase}); retrying`, { transient: true }),
  });
}

/** Queue place and ETA from Gradio's estimation events, then the Space's own progress. */
function reportStatus(ctx: Context, status: CallStatus, endpoint: string, stages: CallStages) {
  const step = endpoint === UPLOAD_ENDPOINT ? 'preparing the images' : 'reconstruction';
  const eta = status.eta ? `, about ${Math.max(1, Math.round(status.eta))} s` : '';
  const progress = status.progress_data?.[0];
  if (progress) {
    const fraction = progress.progress ?? (progress.index !== null && progress.length ? (progress.index + 1) / progress.length : null);
    const unit = progress.index !== null && progress.length ? ` ${progress.index + 1}/${progress.length}${progress.unit ? ` ${progress.unit}` : ''}` : '';
    const at = fraction === null ? stages.from : stages.from + (stages.to - stages.from) * Math.min(1, Math.max(0, fraction));
    ctx.progress(stages.running, at, `running on the Space (${step}): ${progress.desc ?? 'working'}${unit}`);
  } else if (status.original_msg === 'process_starts') {
    ctx.progress(stages.running, stages.from, `running on the Space (${step})${eta ? `: expected to take${eta.slice(1)}` : ''}`);
  } else if (status.position !== undefined) {
    const of = status.size ? ` of ${status.size}` : '';
    ctx.progress('queued', stages.queued, `queued on the Space (${step}): position ${status.position + 1}${of}${eta}`);
  } else if (status.stage === 'pending') {
    ctx.progress('queued', stages.queued, `submitted to the Space (${step})`);
  }
}

async function fetchScene(ctx: Context, options: VggtSpaceOptions, url: string) {
  ctx.progress('fetching', 0.9, 'downloading scene.glb from the Space');
  const file = join(ctx.workDir, 'scene.glb');
  const result = await downloadFile(url, file, { ...downloadOptions(ctx, options), what: 'scene.glb' });
  if (!result.ok) {
    throw new EngineError(`The Space refused to send the scene it made (HTTP ${result.status}${result.detail ? `: ${result.detail}` : ''})`, {
      transient: result.status >= 500 || result.status === 429,
    });
  }
  if (!(await startsWith(file, 'glTF'))) throw new EngineError('The Space sent a scene file that is not a GLB', { transient: true });
  await ctx.putArtifact('glb', file);
}

/** predictions.npz stays in the Space's working folder; Spaces may refuse to serve it. */
async function fetchPredictions(ctx: Context, options: VggtSpaceOptions, url: string) {
  ctx.progress('fetching', 0.95, 'downloading predictions.npz from the Space');
  const file = join(ctx.workDir, 'predictions.npz');
  let reason: string | undefined;
  try {
    const result = await downloadFile(url, file, { ...downloadOptions(ctx, options), what: 'predictions.npz' });
    if (!result.ok) reason = `the Space refused to serve it (HTTP ${result.status}${result.detail ? `: ${result.detail}` : ''})`;
    else if (!(await startsWith(file, 'PK'))) reason = 'the Space sent something that is not an NPZ file';
    else {
      const npz = await readNpz(file);
      const keys = npz.keys;
      await npz.close();
      if (!keys.includes('extrinsic')) reason = `the Space's NPZ has no camera poses (keys: ${keys.join(', ')})`;
    }
  } catch (error) {
    ctx.signal.throwIfAborted();
    reason = networkCode(error) ? `the download failed: ${messageOf(error)}` : `it could not be read: ${messageOf(error)}`;
  }
  if (reason) {
    await ctx.markUnavailable('predictions', `predictions.npz stays on the Space: ${reason}`);
    return;
  }
  await ctx.putArtifact('predictions', file);
  ctx.progress('fetching', 1, 'downloaded the results');
}

function downloadOptions(ctx: Context, options: VggtSpaceOptions) {
  return { token: options.token, signal: ctx.signal, timeoutMs: options.downloadTimeoutMs, space: options.space };
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function describe(value: unknown): string {
  return typeof value === 'string' ? value.replace(/[#*_`]/g, '').replace(/\s+/g, ' ').trim() : '';
}
