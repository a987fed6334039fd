import { EngineError } from '../engine.ts';

/** The request body of the DA3 backend's POST /inference (depth_anything_3.services.backend). */
export interface Da3InferenceRequest {
  image_paths: string[];
  export_dir: string;
  export_format: string;
  process_res: number;
  process_res_method: string;
  conf_thresh_percentile: number;
  num_max_points: number;
  show_cameras: boolean;
}

/** GET /task/{id}, as the backend's TaskStatus model. */
export interface Da3TaskStatus {
  task_id: string;
  status: 'pending' | 'running' | 'completed' | 'failed';
  message: string;
  progress?: number | null;
  export_dir?: string | null;
}

const REQUEST_TIMEOUT_MS = 30_000;

/** A thin client for the DA3 backend; every failure becomes an EngineError that says whether to retry. */
export class Da3Client {
  readonly #base: string;

  constructor(baseUrl: string) {
    this.#base = baseUrl.replace(/\/+$/, '');
  }

  get url(): string {
    return this.#base;
  }

  async submit(body: Da3InferenceRequest, signal: AbortSignal): Promise<string> {
    const response = await this.#fetch('/inference', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, signal);
    const json = (await response.json().catch(() => undefined)) as { success?: boolean; message?: string; task_id?: string } | undefined;
    if (!json?.success || !json.task_id) {
      throw new EngineError(`The DA3 backend refused the task: ${json?.message ?? 'no task_id in its answer'}`);
    }
    return json.task_id;
  }

  async task(id: string, signal: AbortSignal): Promise<Da3TaskStatus> {
    const response = await this.#fetch(`/task/${encodeURIComponent(id)}`, {}, signal);
    return (await response.json()) as Da3TaskStatus;
  }

  async status(signal: AbortSignal): Promise<Record<string, unknown>> {
    const response = await this.#fetch('/status', {}, signal);
    return (await response.json()) as Record<string, unknown>;
  }

  async #fetch(path: string, init: RequestInit, signal: AbortSignal): Promise<Response> {
    const url = `${this.#base}${path}`;
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new EngineError(`The DA3 backend at ${this.#base} is unreachable: ${describeNetworkError(error)}`, {
        transient: true,
        hint: 'Check that the backend is running (python -m depth_anything_3.services.backend …) and that DA3_URL points at it',
        cause: error,
      });
    }
    if (response.ok) return response;
    const detail = await response.text().then(detailOf, () => '');
    const what = `${init.method ?? 'GET'} ${path} answered ${response.status}${detail ? `: ${detail}` : ''}`;
    if (response.status === 404 && path.startsWith('/task/')) {
      // Tasks live in the backend's memory: a restart forgets them. A new attempt resubmits.
      throw new EngineError(`The DA3 backend no longer knows the task (${what}); it was probably restarted`, { transient: true });
    }
    if (response.status === 429 || response.status >= 500) {
      const retryAfter = Number(response.headers.get('retry-after'));
      throw new EngineError(`The DA3 backend is unavailable (${what})`, {
        transient: true,
        ...(Number.isFinite(retryAfter) && retryAfter > 0 && { retryAfterMs: retryAfter * 1000 }),
      });
    }
    if (response.status === 404) {
      throw new EngineError(`The DA3 backend at ${this.#base} has no ${path} endpoint (${what})`, {
        hint: 'DA3_URL must point at a Depth Anything 3 backend service (python -m depth_anything_3.services.backend), not the Gradio app',
      });
    }
    throw new EngineError(`The DA3 backend rejected the request (${what})`);
  }
}

function detailOf(text: string): string {
  try {
    const json = JSON.parse(text) as { detail?: unknown; message?: unknown };
    const detail = json.detail ?? json.message;
    if (typeof detail === 'string') return detail;
    if (detail !== undefined) return JSON.stringify(detail).slice(0, 500);
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 500);
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  if (cause?.message) return cause.message;
  if ((error as Error).name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  return (error as Error).message ?? String(error);
}
