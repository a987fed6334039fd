import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import type { RunEvent, RunView } from '../core/run-model.ts';

/** A problem+json answer from the server, with its details. */
export class ReconApiError extends Error {
  readonly status: number;
  readonly problem: Record<string, unknown>;
  constructor(status: number, problem: Record<string, unknown>) {
    super(String(problem.detail ?? problem.title ?? `HTTP ${status}`));
    this.name = 'ReconApiError';
    this.status = status;
    this.problem = problem;
  }
}

export type StreamedEvent = Pick<RunEvent, 'id'> & { type: RunEvent['type'] } & Record<string, unknown>;

/** A typed client for the Recon HTTP API. */
export class ReconClient {
  readonly baseUrl: string;
  readonly #apiKey: string | undefined;

  constructor(baseUrl: string, options: { apiKey?: string } = {}) {
    this.baseUrl = baseUrl.replace(/\/$/, '');
    this.#apiKey = options.apiKey;
  }

  private async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    const headers = new Headers(init.headers);
    if (this.#apiKey) headers.set('authorization', `Bearer ${this.#apiKey}`);
    const response = await fetch(`${this.baseUrl}${path}`, { ...init, headers });
    const text = await response.text();
    const body = text ? JSON.parse(text) : undefined;
    if (!response.ok) throw new ReconApiError(response.status, body ?? {});
    return body as T;
  }

  createRun(input: { engine?: string; settings?: Record<string, unknown>; webhookUrl?: string } = {}): Promise<RunView> {
    return this.request('/api/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
  }

  /** Uploads files from disk; they are streamed, not read into memory. */
  async uploadImages(runId: string, paths: string[]) {
    const form = new FormData();
    for (const path of paths) form.append('images', await openAsBlob(path), basename(path));
    return this.request<{ runId: string; imagesUploaded: number; images: string[] }>(`/api/runs/${runId}/images`, {
      method: 'POST',
      body: form,
    });
  }

  process(runId: string) {
    return this.request<{ runId: string; status: 'processing'; queuePosition: number | null }>(`/api/runs/${runId}/process`, {
      method: 'POST',
    });
  }

  getRun(runId: string): Promise<RunView> {
    return this.request(`/api/runs/${runId}`);
  }

  /** Follows the run's event stream to its end, resuming after dropped connections. */
  async *events(runId: string, signal?: AbortSignal): AsyncGenerator<StreamedEvent> {
    let lastId = 0;
    for (let failures = 0; failures < 20; ) {
      const headers: Record<string, string> = lastId ? { 'last-event-id': String(lastId) } : {};
      if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
      let response: Response;
      try {
        response = await fetch(`${this.baseUrl}/api/runs/${runId}/stream`, { headers, ...(signal && { signal }) });
      } catch {
        if (signal?.aborted) return;
        failures++;
        await new Promise((r) => setTimeout(r, 500 * failures));
        continue;
      }
      if (response.status === 204) return;
      if (!response.ok || !response.body) throw new ReconApiError(response.status, (await response.json().catch(() => ({}))) as Record<string, unknown>);
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body) {
          buffer += decoder.decode(chunk, { stream: true });
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const id = /^id: (\d+)$/m.exec(frame)?.[1];
            const data = /^data: (.*)$/m.exec(frame)?.[1];
            if (!id || !data) continue;
            lastId = Number(id);
            yield { id: lastId, ...JSON.parse(data) };
          }
        }
        failures = 0;
      } catch {
        if (signal?.aborted) return;
        failures++;
      }
    }
  }
}
