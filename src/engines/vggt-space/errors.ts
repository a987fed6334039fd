import { EngineError } from '../engine.ts';

const QUOTA = /exceeded your (free )?GPU quota/i;
const RETRY_IN = /(?:retry|try again) in (?:(\d+):)?(\d{1,2}):(\d{2})\b/i;
const BUSY = /currently busy|queue is full/i;
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
/** What ZeroGPU and Gradio say when a job died for reasons that a later try may not meet. */
const TRANSIENT_APP_ERRORS = /GPU task aborted|no GPU (was )?available|session not found|timed? ?out|connection errored/i;

/** "Retry in 0:12:34" → milliseconds. */
export function parseRetryIn(text: string): number | undefined {
  const match = RETRY_IN.exec(text);
  if (!match) return undefined;
  const [hours, minutes, seconds] = [match[1] ?? '0', match[2]!, match[3]!].map(Number) as [number, number, number];
  return ((hours * 60 + minutes) * 60 + seconds) * 1000;
}

export function isQuotaMessage(text: string): boolean {
  return QUOTA.test(text);
}

/** A ZeroGPU quota refusal: worth waiting for when the Space says it frees up soon enough. */
export function quotaError(message: string, maxWaitMs: number, tokenSet: boolean): EngineError {
  const waitMs = parseRetryIn(message);
  const hint = tokenSet
    ? 'ZeroGPU quota is per account and refills over time; a PRO account has more, or run VGGT on your own GPU (engine vggt-local, or VGGT_SPACE pointing at your own copy of the Space)'
    : 'Anonymous calls get the smallest quota: set HF_TOKEN to a Hugging Face token to use your account\'s quota, or run VGGT on your own GPU (engine vggt-local)';
  if (waitMs !== undefined && waitMs <= maxWaitMs) {
    return new EngineError(`The Space's GPU quota is used up; retrying in ${formatDuration(waitMs)} as it asked: ${message}`, {
      transient: true,
      retryAfterMs: waitMs,
      hint,
    });
  }
  const when = waitMs === undefined ? 'it did not say when to retry' : `it frees up in ${formatDuration(waitMs)}, more than the ${formatDuration(maxWaitMs)} this server waits (VGGT_SPACE_MAX_QUOTA_WAIT_SECONDS)`;
  return new EngineError(`The Space's GPU quota is used up and ${when}: ${message}`, { hint });
}

export function busyError(space: string): EngineError {
  return new EngineError(`The Space ${space} is busy (its queue is full, HTTP 503); retrying later`, {
    transient: true,
    hint: 'Public Spaces fill up at busy times; a copy of the Space of your own (VGGT_SPACE) avoids the shared queue',
  });
}

/** A reset, refused or timed-out connection somewhere below @gradio/client. */
export function networkCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    if ((e as Error).name === 'TimeoutError') return 'ETIMEDOUT';
  }
  return /fetch failed|terminated|socket hang up|network/i.test(String((error as Error)?.message)) ? 'network' : undefined;
}

export function networkError(space: string, doing: string, error: unknown): EngineError {
  const code = networkCode(error) ?? 'network';
  const detail = code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'the host name did not resolve (no network, or no DNS?)' : `${code}: ${messageOf(error)}`;
  return new EngineError(`Lost the connection to the Space ${space} while ${doing} (${detail}); retrying`, {
    transient: true,
    hint: 'Check this machine\'s network access to huggingface.co / the Space',
    cause: error,
  });
}

/** Errors from Client.connect, whose messages are the client's constants (see @gradio/client constants.ts). */
export function connectError(space: string, error: unknown, tokenSet: boolean): EngineError {
  const message = messageOf(error);
  if (/\(received a 404 response|received status 404/i.test(message)) {
    return new EngineError(`The Space ${space} does not exist (HTTP 404)`, {
      hint: 'Check VGGT_SPACE: a Space id such as facebook/vggt, or the full URL of a Gradio app serving the VGGT demo',
      cause: error,
    });
  }
  if (/received a 401 response|received status 40[13]|Not authorized|credentials|private Hugging Face Space/i.test(message)) {
    return new EngineError(
      tokenSet ? `The Space ${space} refused HF_TOKEN (invalid or without access)` : `The Space ${space} needs a Hugging Face token`,
      { hint: 'Set HF_TOKEN to a valid token (https://huggingface.co/settings/tokens) with read access to the Space', cause: error },
    );
  }
  const status = /received status (\d{3})/.exec(message)?.[1];
  if (status === '503' || status === '502' || status === '504') {
    return new EngineError(`The Space ${space} is not answering yet (HTTP ${status}: it may be starting, waking up or rebuilding); retrying`, {
      transient: true,
      retryAfterMs: 30_000,
      cause: error,
    });
  }
  if (status === '429') return new EngineError(`The Space ${space} is rate limiting us (HTTP 429); retrying`, { transient: true, retryAfterMs: 60_000, cause: error });
  if (networkCode(error) || /metadata could not be loaded|Could not get space status/i.test(message)) return networkError(space, 'connecting', error);
  if (status) {
    return new EngineError(`The Space ${space} answered HTTP ${status} to its config request`, { transient: Number(status) >= 500, cause: error });
  }
  return new EngineError(`Could not connect to the Space ${space}: ${message}`, {
    hint: 'VGGT_SPACE must be a Space id (owner/name) or the URL of a Gradio app',
    cause: error,
  });
}

export interface GradioStatusError {
  message?: unknown;
  code?: string;
  broken?: boolean;
  session_not_found?: boolean;
  title?: string;
}

/** A `stage: "error"` status event from a call to `endpoint`. */
export function callError(
  space: string,
  endpoint: string,
  status: GradioStatusError,
  options: { maxQuotaWaitMs: number; tokenSet: boolean; phase: string },
): EngineError {
  const message = statusMessage(status);
  if (isQuotaMessage(message)) return quotaError(message, options.maxQuotaWaitMs, options.tokenSet);
  if (BUSY.test(message)) return busyError(space);
  if (status.broken || status.session_not_found) {
    return new EngineError(`The connection to the Space ${space} dropped while it was ${options.phase} (${message.trim()}); retrying`, {
      transient: true,
    });
  }
  if (status.code === 'validation_error') {
    return new EngineError(`The Space rejected the inputs of ${endpoint}: ${message}`, {
      hint: 'The Space\'s API may have changed; check its "Use via API" page against the engine\'s settings',
    });
  }
  if (/out of memory/i.test(message)) {
    return new EngineError(`The Space ran out of GPU memory in ${endpoint}: ${message}`, {
      hint: 'Use fewer images in one run (the public Space handles a few dozen at most), or run on your own GPU (vggt-local)',
    });
  }
  if (TRANSIENT_APP_ERRORS.test(message)) {
    return new EngineError(`The Space failed in ${endpoint}: ${message}; retrying`, { transient: true });
  }
  return new EngineError(`The Space failed in ${endpoint}: ${message}`, { hint: 'The run log has the Space\'s messages' });
}

export function statusMessage(status: GradioStatusError): string {
  const { message } = status;
  if (Array.isArray(message)) return message.map((m) => (typeof m === 'string' ? m : (m as { msg?: string })?.msg ?? JSON.stringify(m))).join('; ');
  if (typeof message === 'string' && message.trim()) return message.trim();
  return status.title && status.title !== 'Error' ? status.title : 'an error without a message';
}

/** The Space no longer has an endpoint this engine calls: its API changed. */
export function missingEndpointError(space: string, missing: string[], available: string[]): EngineError {
  const list = available.length ? available.join(', ') : 'none';
  return new EngineError(`The Space ${space} has no ${missing.join(' or ')} endpoint — its API changed. Endpoints it has: ${list}`, {
    hint: 'Point VGGT_SPACE at a Space that serves the VGGT demo (facebook/vggt or a copy of it), or update the vggt-space engine to the new API',
  });
}

export function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h ? `${h} h ${m} min` : m ? `${m} min ${s} s` : `${s} s`;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
