import type { Client } from '@gradio/client';
import { EngineError } from '../engine.ts';
import type { GradioStatusError } from './errors.ts';

/** The parts of a Gradio status event this engine reads (see @gradio/client's `Status`). */
export interface CallStatus extends GradioStatusError {
  stage: 'pending' | 'error' | 'complete' | 'generating' | 'streaming';
  /** 0-based place in the Space's queue; 0 once the job runs. */
  position?: number;
  size?: number;
  /** Seconds: until the job starts while queued, the expected run time once it runs. */
  eta?: number;
  original_msg?: string;
  progress_data?: { progress: number | null; index: number | null; length: number | null; unit: string | null; desc: string | null }[];
}

export interface CallOptions {
  signal: AbortSignal;
  onStatus(status: CallStatus): void;
  onLog(line: string): void;
  /** Turns an error status into the engine's error. */
  onError(status: CallStatus): EngineError;
  /** Fails the call when the Space sends nothing for this long. */
  idleTimeoutMs: number;
  /** For error messages: what the run is doing. */
  dropped(phase: string): EngineError;
  /** Bounds Gradio's cancel request. */
  cancelTimeoutMs?: number;
}

const WATCH_MS = 1000;

/**
 * Submits one call and follows its events to the result. Aborting `signal` sends Gradio's cancel
 * and rethrows the abort reason; a stream that ends or goes quiet without a result is a drop.
 */
export async function callEndpoint(client: Client, endpoint: string, data: unknown[], options: CallOptions): Promise<unknown[]> {
  options.signal.throwIfAborted();
  const job = client.submit(endpoint, data);
  let result: unknown[] | undefined;
  let started = false;
  let lastEventAt = Date.now();
  let closedTicks = 0;
  let stop!: (reason: { abort: unknown } | { error: EngineError }) => void;
  const stopped = new Promise<{ abort: unknown } | { error: EngineError }>((resolve) => (stop = resolve));
  const onAbort = () => stop({ abort: options.signal.reason });
  options.signal.addEventListener('abort', onAbort, { once: true });
  // @gradio/client's SSE reader ends quietly when the server closes the stream mid-job (only a
  // reset reaches its onerror), so the stream's state is watched from here.
  const watch = setInterval(() => {
    const streamEnded = client.stream_status.open && client.stream_instance?.readyState === 2;
    closedTicks = streamEnded ? closedTicks + 1 : 0;
    if (closedTicks >= 2) stop({ error: options.dropped(started ? 'running on the Space' : 'queued on the Space') });
    else if (Date.now() - lastEventAt > options.idleTimeoutMs) {
      stop({ error: new EngineError(`The Space sent nothing for ${Math.round(options.idleTimeoutMs / 1000)} s during ${endpoint}; retrying`, { transient: true }) });
    }
  }, WATCH_MS);
  try {
    for (;;) {
      const next = await Promise.race([job.next(), stopped]);
      if ('abort' in next) {
        await Promise.race([job.cancel(), new Promise((resolve) => setTimeout(resolve, options.cancelTimeoutMs ?? 5000).unref())]);
        throw next.abort;
      }
      if ('error' in next) throw next.error;
      if (next.done) break;
      lastEventAt = Date.now();
      const event = next.value;
      if (event.type === 'data') result = event.data as unknown[];
      else if (event.type === 'log') options.onLog(`${event.level ?? 'info'}: ${event.log}`);
      else if (event.type === 'status') {
        const status = event as unknown as CallStatus;
        if (status.stage === 'error') throw options.onError(status);
        if (status.original_msg === 'process_starts' || status.progress_data || status.stage === 'generating') started = true;
        options.onStatus(status);
      }
    }
  } finally {
    clearInterval(watch);
    options.signal.removeEventListener('abort', onAbort);
    void job.return?.();
  }
  if (!result) throw options.dropped(started ? 'running on the Space' : 'queued on the Space');
  return result;
}
