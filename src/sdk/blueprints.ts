import type { z } from 'zod';
import type {
  addRegionBody,
  blueprintCapabilities,
  blueprintList,
  BlueprintView,
  createBlueprintBody,
  evolutionView,
  exportBody,
  exportView,
  generateBody,
  generationView,
  regenerateBody,
  suggestionView,
  templateBody,
  templateView,
  updateBlueprintBody,
} from '../contract/blueprints.ts';
import type { Rating } from '../domain/blueprint-model.ts';
import type { ReconClient, UploadItem, UploadProgress } from './client.ts';

export type { BlueprintView } from '../contract/blueprints.ts';
export type BlueprintCapabilities = z.infer<typeof blueprintCapabilities>;
export type BlueprintList = z.infer<typeof blueprintList>;
export type CreateBlueprintInput = z.input<typeof createBlueprintBody>;
export type UpdateBlueprintInput = z.input<typeof updateBlueprintBody>;
export type RegionInput = z.input<typeof addRegionBody>;
export type GenerateInput = z.input<typeof generateBody>;
export type RegenerateInput = z.input<typeof regenerateBody>;
export type ExportInput = z.input<typeof exportBody>;
export type ExportView = z.infer<typeof exportView>;
export type GenerationView = z.infer<typeof generationView>;
export type SuggestionView = z.infer<typeof suggestionView>;
export type EvolutionView = z.infer<typeof evolutionView>;
export type TemplateInput = z.input<typeof templateBody>;
export type TemplateView = z.infer<typeof templateView>;

/** What GET /api/blueprints/:id/stream sends: job changes, fal progress, ratings, statuses, … */
export interface BlueprintStreamEvent {
  id: number;
  type: 'status' | 'job' | 'progress' | 'webhook' | 'log' | 'rating' | 'prompt' | 'design' | 'export' | string;
  blueprintId: string;
  at: string;
  status?: string;
  jobId?: string;
  kind?: string;
  falState?: string | null;
  queuePosition?: number | null;
  logs?: string[];
  message?: string;
  error?: string | null;
  [key: string]: unknown;
}

const ACTIVE = ['queued', 'submitting', 'submitted'];
const path = (id: string, rest = '') => `/api/blueprints/${encodeURIComponent(id)}${rest}`;

/**
 * Defect blueprints through the Recon API: product photos and defect classes in, generated
 * defect images (through fal.ai) reviewed and exported as a COCO / YOLO / MVTec dataset out.
 *
 * @example
 * const bp = await client.blueprints.create({ name: 'Bottles', template: 'glass-bottle' });
 * await client.blueprints.uploadPhotos(bp.id, [{ name: 'front.jpg', data: blob }]);
 * await client.blueprints.generate(bp.id);
 * const done = await client.blueprints.waitUntilSettled(bp.id, { onEvent: console.log });
 * for (const g of done.generations) await client.blueprints.rate(bp.id, g.id, 'approved');
 * const dataset = await client.blueprints.export(bp.id);   // then fetch dataset.downloadUrl
 */
export class BlueprintsClient {
  readonly #client: ReconClient;

  constructor(client: ReconClient) {
    this.#client = client;
  }

  /** Whether generation, suggestions and evolution are on here, and the image models offered. */
  capabilities(): Promise<BlueprintCapabilities> {
    return this.#client.request('GET', '/api/blueprint-capabilities');
  }

  /** Built-in and your own defect templates (latest versions). */
  async templates(): Promise<TemplateView[]> {
    return (await this.#client.request<{ templates: TemplateView[] }>('GET', '/api/blueprint-templates')).templates;
  }

  /** @example await blueprints.saveTemplate({ name: 'Cast housings', defects: [{ name: 'porosity' }] }) */
  saveTemplate(input: TemplateInput): Promise<TemplateView> {
    return this.#client.request('POST', '/api/blueprint-templates', { json: input });
  }

  /** @example await blueprints.create({ name: 'PCB line 3', template: 'pcb' }) */
  create(input: CreateBlueprintInput): Promise<BlueprintView> {
    return this.#client.request('POST', '/api/blueprints', { json: input });
  }

  list(options: { limit?: number; offset?: number } = {}): Promise<BlueprintList> {
    const query = new URLSearchParams(Object.entries(options).map(([k, v]) => [k, String(v)] as [string, string])).toString();
    return this.#client.request('GET', `/api/blueprints${query ? `?${query}` : ''}`);
  }

  get(id: string): Promise<BlueprintView> {
    return this.#client.request('GET', path(id));
  }

  update(id: string, input: UpdateBlueprintInput): Promise<BlueprintView> {
    return this.#client.request('PATCH', path(id), { json: input });
  }

  async delete(id: string): Promise<void> {
    await this.#client.request('DELETE', path(id));
  }

  /** Uploads product photos (streamed, with progress). @example await blueprints.uploadPhotos(id, [{ name: 'a.png', data: blob }]) */
  uploadPhotos(id: string, items: UploadItem[], options: { onProgress?: (progress: UploadProgress) => void; signal?: AbortSignal } = {}) {
    return this.#client.uploadFiles<{ objectIds: string[]; blueprint: BlueprintView }>(path(id, '/objects'), items, options);
  }

  /** @example await blueprints.addDefects(id, [{ name: 'scratch', description: 'a thin line' }]) */
  addDefects(id: string, defects: { name: string; description?: string; rationale?: string; source?: 'custom' | 'suggested' }[]) {
    return this.#client.request<{ defectIds: string[]; blueprint: BlueprintView }>('POST', path(id, '/defects'), { json: { defects } });
  }

  /** Adds a template's defects (`id` or `id@version`); those already there are skipped. */
  applyTemplate(id: string, template: string) {
    return this.#client.request<{ defectIds: string[]; blueprint: BlueprintView }>('POST', path(id, '/defects'), { json: { template } });
  }

  updateDefect(id: string, defectId: string, changes: { name?: string; description?: string | null }): Promise<BlueprintView> {
    return this.#client.request('PATCH', path(id, `/defects/${defectId}`), { json: changes });
  }

  async removeDefect(id: string, defectId: string): Promise<void> {
    await this.#client.request('DELETE', path(id, `/defects/${defectId}`));
  }

  async removePhoto(id: string, objectId: string): Promise<void> {
    await this.#client.request('DELETE', path(id, `/objects/${objectId}`));
  }

  /** A region: `{objectId, defectId, box: [x, y, w, h]}`, `{…, mask: base64PNG}` or `{…, auto: true}`. */
  addRegion(id: string, region: RegionInput) {
    return this.#client.request<{ regionIds: string[]; blueprint: BlueprintView }>('POST', path(id, '/regions'), { json: region });
  }

  async removeRegion(id: string, regionId: string): Promise<void> {
    await this.#client.request('DELETE', path(id, `/regions/${regionId}`));
  }

  /** An edited prompt, as a new child of `parentId`. @example await blueprints.editPrompt(id, promptId, 'a thinner scratch') */
  editPrompt(id: string, parentId: string, text: string) {
    return this.#client.request<{ promptIds: string[]; blueprint: BlueprintView }>('POST', path(id, '/prompts'), { json: { parentId, text } });
  }

  /** Asks the LLM for improved children of a prompt from its ratings; follow the job with `waitUntilSettled`. */
  evolve(id: string, promptId: string, count = 2): Promise<EvolutionView> {
    return this.#client.request('POST', path(id, `/prompts/${promptId}/evolve`), { json: { count } });
  }

  /** Asks the VLM about a photo (the first by default) for likely defects. */
  suggest(id: string, objectId?: string): Promise<SuggestionView> {
    return this.#client.request('POST', path(id, '/suggestions'), { json: objectId ? { objectId } : {} });
  }

  /** Generates the photos × defects matrix (or the cells given). @example await blueprints.generate(id, { count: 2 }) */
  async generate(id: string, input: GenerateInput = {}): Promise<GenerationView[]> {
    return (await this.#client.request<{ generations: GenerationView[] }>('POST', path(id, '/generate'), { json: input })).generations;
  }

  regenerate(id: string, generationId: string, input: RegenerateInput = {}): Promise<GenerationView> {
    return this.#client.request('POST', path(id, `/generations/${generationId}/regenerate`), { json: input });
  }

  /** @example await blueprints.rate(id, generationId, 'needs_refinement', 'too large') */
  rate(id: string, generationId: string, rating: Rating, feedback?: string): Promise<GenerationView> {
    return this.#client.request('PUT', path(id, `/generations/${generationId}/rating`), { json: { rating, ...(feedback && { feedback }) } });
  }

  cancel(id: string, jobIds?: string[]): Promise<{ canceled: string[] }> {
    return this.#client.request('POST', path(id, '/cancel'), { json: jobIds ? { jobIds } : {} });
  }

  /** Builds a dataset ZIP; download it from `downloadUrl` (see `downloadExport`). */
  export(id: string, input: ExportInput = {}): Promise<ExportView> {
    return this.#client.request('POST', path(id, '/exports'), { json: input });
  }

  async exports(id: string): Promise<ExportView[]> {
    return (await this.#client.request<{ exports: ExportView[] }>('GET', path(id, '/exports'))).exports;
  }

  /** The export's response (its body not read yet); a problem answer throws. */
  async downloadExport(id: string, exportId: string, options: { signal?: AbortSignal } = {}): Promise<Response> {
    const response = await this.#client.send('GET', path(id, `/exports/${exportId}/download`), options);
    if (!response.ok) await this.#client.request('GET', path(id, `/exports/${exportId}/download`));
    return response;
  }

  /** The blueprint's events until generation stops (job status, fal queue position and logs, ratings). */
  events(id: string, options: { signal?: AbortSignal; lastEventId?: number } = {}): AsyncGenerator<BlueprintStreamEvent> {
    let seenGenerating = false;
    return this.#client.followStream<BlueprintStreamEvent>(
      path(id, '/stream'),
      (event) => {
        if (event.type !== 'status') return false;
        if (event.status === 'generating') seenGenerating = true;
        return seenGenerating && event.status !== 'generating';
      },
      options,
    );
  }

  /**
   * Waits until no job of the blueprint is unfinished (generations, suggestions, evolutions) and
   * returns it; reports events as they stream (and polls when the stream cannot be used).
   */
  async waitUntilSettled(id: string, options: { signal?: AbortSignal; onEvent?: (event: BlueprintStreamEvent) => void; pollIntervalMs?: number } = {}): Promise<BlueprintView> {
    const busy = (view: BlueprintView) => [...view.generations, ...view.suggestions, ...view.evolutions].some((job) => ACTIVE.includes(job.status));
    let lastEventId = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      const view = await this.get(id);
      if (!busy(view)) return view;
      let streamed = false;
      try {
        for await (const event of this.events(id, { lastEventId, ...(options.signal && { signal: options.signal }) })) {
          lastEventId = event.id;
          streamed = true;
          options.onEvent?.(event);
          if (event.type === 'job' && ['completed', 'failed', 'canceled'].includes(String(event.status))) {
            const now = await this.get(id);
            if (!busy(now)) return now;
          }
        }
      } catch (error) {
        if ((error as Error).name !== 'StreamUnavailableError') throw error;
      }
      // Jobs that do not change the blueprint's status (suggestions, evolutions) end no stream: poll.
      if (!streamed) await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs ?? 1000));
    }
  }
}
