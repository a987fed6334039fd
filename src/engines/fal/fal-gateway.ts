import { createFalClient, type FalClient } from '@fal-ai/client';
import { FalError, requestError, toFalError } from './fal-error.ts';

export interface FalGatewayOptions {
  key: string;
  /** fal's queue host, or a gateway, proxy or stand-in in its place. */
  queueUrl: string;
  /** fal's REST host (storage uploads). */
  restUrl: string;
  /** Outputs larger than this are refused. */
  maxDownloadBytes: number;
  /** One queue call, the client's own retries included, gives up after this long. Default 60 s. */
  callTimeoutMs?: number;
  /** Aborts every call in flight (the process is shutting down). */
  stop?: AbortSignal;
}

export type FalState = 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED';

export interface FalStatus {
  state: FalState;
  queuePosition: number | undefined;
  logs: string[];
  /** Set when a COMPLETED request failed and fal said how (an error type); otherwise ask the result. */
  error: FalError | undefined;
}

const FAL_QUEUE = 'https://queue.fal.run';
const FAL_REST = 'https://rest.fal.ai';

/**
 * fal's queue and storage through the official `@fal-ai/client`, with its hosts configurable:
 * a request middleware rewrites fal's origins, so the same code talks to fal, a gateway or a
 * local stand-in. Every failure comes out as a classified FalError.
 */
export class FalGateway {
  readonly #client: FalClient;
  readonly #maxDownloadBytes: number;
  readonly #callTimeoutMs: number;
  readonly #stop: AbortSignal | undefined;

  constructor(options: FalGatewayOptions) {
    const queueUrl = options.queueUrl.replace(/\/+$/, '');
    const restUrl = options.restUrl.replace(/\/+$/, '');
    this.#maxDownloadBytes = options.maxDownloadBytes;
    this.#callTimeoutMs = options.callTimeoutMs ?? 60_000;
    this.#stop = options.stop;
    this.#client = createFalClient({
      credentials: options.key,
      requestMiddleware: async (request) => ({
        ...request,
        url: request.url.startsWith(FAL_QUEUE)
          ? queueUrl + request.url.slice(FAL_QUEUE.length)
          : request.url.startsWith(FAL_REST)
            ? restUrl + request.url.slice(FAL_REST.length)
            : request.url,
      }),
    });
  }

  /** Stores a file in fal's storage (initiate + PUT) and returns its URL for a request's input. */
  async upload(bytes: Uint8Array, contentType: string, fileName: string): Promise<string> {
    try {
      return await this.#client.storage.upload(new File([bytes], fileName, { type: contentType }));
    } catch (error) {
      throw toFalError(error, `uploading ${fileName}`);
    }
  }

  async submit(endpoint: string, input: Record<string, unknown>, webhookUrl: string | undefined): Promise<string> {
    try {
      const queued = await this.#client.queue.submit(endpoint, { input, abortSignal: this.#signal(), ...(webhookUrl && { webhookUrl }) });
      return queued.request_id;
    } catch (error) {
      throw toFalError(error, `submitting to ${endpoint}`);
    }
  }

  async status(endpoint: string, requestId: string): Promise<FalStatus> {
    try {
      const status = (await this.#client.queue.status(endpoint, { requestId, logs: true, abortSignal: this.#signal() })) as {
        status: FalState;
        queue_position?: number;
        logs?: { message: string }[] | null;
        error?: string | null;
        error_type?: string | null;
      };
      const error =
        status.status === 'COMPLETED' && status.error && status.error_type
          ? requestError(`fal request ${requestId} failed (${status.error_type}): ${status.error}`, status.error_type)
          : undefined;
      return {
        state: status.status,
        queuePosition: status.queue_position,
        logs: (status.logs ?? []).map((line) => line.message),
        error,
      };
    } catch (error) {
      throw toFalError(error, `asking fal about request ${requestId}`);
    }
  }

  async result(endpoint: string, requestId: string): Promise<unknown> {
    try {
      return (await this.#client.queue.result(endpoint, { requestId, abortSignal: this.#signal() })).data;
    } catch (error) {
      throw toFalError(error, `fetching the result of request ${requestId}`);
    }
  }

  /** True when fal took the cancellation, false when the request had already finished. */
  async cancel(endpoint: string, requestId: string): Promise<boolean> {
    try {
      await this.#client.queue.cancel(endpoint, { requestId, abortSignal: this.#signal() });
      return true;
    } catch (error) {
      const failure = toFalError(error, `cancelling request ${requestId}`);
      if (failure.status === 400 || failure.status === 404) return false;
      throw failure;
    }
  }

  /** Each call gives up after the call timeout, or when the owner of `stop` (a shutting-down worker) aborts. */
  #signal(): AbortSignal {
    const timeout = AbortSignal.timeout(this.#callTimeoutMs);
    return this.#stop ? AbortSignal.any([timeout, this.#stop]) : timeout;
  }

  /** Downloads an output file (fal's URLs expire, so this happens at once), within a size limit. */
  async download(url: string): Promise<{ bytes: Buffer; contentType: string }> {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new FalError(`fal returned a non-HTTP output URL: ${url}`, { transient: false });
    let response: Response;
    try {
      response = await fetch(parsed, { signal: this.#stop ? AbortSignal.any([AbortSignal.timeout(120_000), this.#stop]) : AbortSignal.timeout(120_000) });
    } catch (error) {
      throw toFalError(error, `downloading ${url}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new FalError(`downloading ${url} answered HTTP ${response.status}`, { transient: response.status >= 500 || response.status === 429 });
    }
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > this.#maxDownloadBytes) {
      await response.body?.cancel();
      throw new FalError(`fal's output is ${declared} bytes, over the ${this.#maxDownloadBytes}-byte limit`, { transient: false });
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of response.body ?? []) {
      total += chunk.length;
      if (total > this.#maxDownloadBytes) throw new FalError(`fal's output passed the ${this.#maxDownloadBytes}-byte limit`, { transient: false });
      chunks.push(Buffer.from(chunk));
    }
    return { bytes: Buffer.concat(chunks), contentType: response.headers.get('content-type') ?? 'application/octet-stream' };
  }
}
