import { randomBytes } from 'node:crypto';
import type { StoredFile } from '../core/run-files-service.ts';
import type { BlueprintEventsRepository } from '../db/blueprint-events-repository.ts';
import type { BlueprintJobsRepository } from '../db/blueprint-jobs-repository.ts';
import type { BlueprintPromptsRepository } from '../db/blueprint-prompts-repository.ts';
import type { BlueprintJobRow, NewBlueprintJobRow } from '../db/blueprint-tables.ts';
import type { BlueprintsRepository } from '../db/blueprints-repository.ts';
import { type JobKind, MAX_SEED, newPartId, type PartPrefix, type Rating } from '../domain/blueprint-model.ts';
import {
  blueprintLimitReached,
  blueprintPartNotFound,
  falNotConfigured,
  generationNotFinished,
  nothingToGenerate,
  promptOfOtherDefect,
} from '../domain/problems.ts';
import type { BlueprintDesignService } from './blueprint-design-service.ts';
import type { BlueprintFiles } from './blueprint-files.ts';
import { toGenerationView } from './blueprint-views.ts';
import type { BlueprintsService } from './blueprints-service.ts';
import type { FalJobRunner } from './fal-job-runner.ts';
import type { RegionService } from './region-service.ts';

export interface GenerationServiceDeps {
  blueprints: Pick<BlueprintsService, 'findOwned' | 'lockOwned' | 'refreshStatus' | 'capabilities'>;
  design: Pick<BlueprintDesignService, 'promptFor'>;
  regions: Pick<RegionService, 'ensureRegions'>;
  repo: BlueprintsRepository;
  jobs: BlueprintJobsRepository;
  prompts: Pick<BlueprintPromptsRepository, 'find'>;
  events: BlueprintEventsRepository;
  files: BlueprintFiles;
  runner: Pick<FalJobRunner, 'cancel' | 'enqueueNew'>;
  endpoints: { vlm: string | undefined; llm: string | undefined };
  maxGenerations: number;
}

const randomSeed = () => Math.floor(Math.random() * MAX_SEED);
const webhookToken = () => randomBytes(16).toString('hex');
const PREFIX: Record<JobKind, PartPrefix> = { generation: 'gn', suggestion: 'sg', evolution: 'ev' };

/**
 * Everything that sends work to fal: the photos × defects matrix, regenerations, defect
 * suggestions and prompt evolutions (each a durable job, run by the FalJobRunner), cancelling
 * them, and rating what came back.
 */
export class GenerationService {
  readonly #deps: GenerationServiceDeps;

  constructor(deps: GenerationServiceDeps) {
    this.#deps = deps;
  }

  /** One job per region (placed automatically where a cell has none) and `count`, for the cells asked (all by default). */
  async generate(owner: string | null, id: string, input: { cells?: { objectId: string; defectId: string }[] | undefined; promptId?: string | undefined; count: number; seed?: number | undefined }) {
    this.#requireGeneration();
    const blueprint = await this.#deps.blueprints.findOwned(owner, id);
    const [objects, defects] = await Promise.all([this.#deps.repo.objects(id), this.#deps.repo.defects(id)]);
    if (!objects.length) throw nothingToGenerate('the blueprint has no product photo; upload one first');
    if (!defects.length) throw nothingToGenerate('the blueprint has no defect class; add one (or apply a template) first');
    let cells = input.cells ?? objects.flatMap((o) => defects.map((d) => ({ objectId: o.id, defectId: d.id })));
    for (const cell of cells) {
      if (!objects.some((o) => o.id === cell.objectId)) throw blueprintPartNotFound(id, 'photo', cell.objectId);
      if (!defects.some((d) => d.id === cell.defectId)) throw blueprintPartNotFound(id, 'defect', cell.defectId);
    }
    if (input.promptId) {
      const own = await this.#defectOfPrompt(id, input.promptId);
      if (input.cells?.some((c) => c.defectId !== own)) throw promptOfOtherDefect(input.promptId, input.cells.find((c) => c.defectId !== own)!.defectId);
      cells = cells.filter((c) => c.defectId === own);
    }
    if (!cells.length) throw nothingToGenerate('no photo × defect cell was asked for');
    // The limit is checked before regions are placed, so a refused request leaves nothing behind.
    const existing = await this.#deps.repo.regions(id);
    const planned = cells.reduce((n, c) => n + Math.max(1, existing.filter((r) => r.object_id === c.objectId && r.defect_id === c.defectId).length), 0) * input.count;
    if ((await this.#deps.jobs.countGenerations(id)) + planned > this.#deps.maxGenerations) {
      throw blueprintLimitReached('generations', this.#deps.maxGenerations, 'maxGenerations', 'BLUEPRINT_MAX_GENERATIONS');
    }
    const regions = await this.#deps.regions.ensureRegions(id, cells);
    const rows: NewBlueprintJobRow[] = [];
    for (const cell of cells) {
      const promptId = await this.#deps.design.promptFor(id, cell.defectId, input.promptId);
      for (const region of regions.filter((r) => r.object_id === cell.objectId && r.defect_id === cell.defectId)) {
        for (let n = 0; n < input.count; n++) {
          rows.push(this.#newJob('generation', id, blueprint.model, { object_id: cell.objectId, defect_id: cell.defectId, region_id: region.id, prompt_id: promptId, seed: input.seed ?? randomSeed() }));
        }
      }
    }
    return this.#start(owner, id, rows);
  }

  /** A new generation of the same cell and region: a new seed (or the one given) and the defect's newest prompt (or the one given). */
  async regenerate(owner: string | null, id: string, generationId: string, input: { promptId?: string | undefined; seed?: number | undefined }) {
    this.#requireGeneration();
    const blueprint = await this.#deps.blueprints.findOwned(owner, id);
    const original = await this.#job(id, generationId, 'generation');
    const promptId = await this.#deps.design.promptFor(id, original.defect_id!, input.promptId);
    const row = this.#newJob('generation', id, blueprint.model, {
      object_id: original.object_id,
      defect_id: original.defect_id,
      region_id: original.region_id,
      prompt_id: promptId,
      seed: input.seed ?? randomSeed(),
    });
    return (await this.#start(owner, id, [row]))[0]!;
  }

  async cancel(owner: string | null, id: string, jobIds?: string[]) {
    await this.#deps.blueprints.findOwned(owner, id);
    const active = await this.#deps.jobs.activeFor(id);
    const chosen = jobIds ? active.filter((j) => jobIds.includes(j.id)) : active;
    const canceled = await this.#deps.runner.cancel(chosen.map((j) => j.id));
    await this.#deps.blueprints.refreshStatus(id);
    return { canceled: canceled.map((j) => j.id) };
  }

  async rate(owner: string | null, id: string, generationId: string, rating: Rating, feedback: string | undefined) {
    await this.#deps.blueprints.findOwned(owner, id);
    const job = await this.#job(id, generationId, 'generation');
    if (job.status !== 'completed') throw generationNotFinished(generationId, job.status);
    await this.#deps.jobs.transaction(async (trx) => {
      await this.#deps.jobs.update(job.id, { rating, feedback: feedback || null, rated_at: new Date() }, trx);
      await this.#deps.events.append(id, 'rating', { jobId: job.id, rating, feedback: feedback || null }, trx);
    });
    await this.#deps.blueprints.refreshStatus(id);
    return toGenerationView((await this.#deps.jobs.find(job.id))!);
  }

  /** Asks the vision endpoint about a photo (the first by default) for likely defects. */
  async suggest(owner: string | null, id: string, objectId: string | undefined) {
    const endpoint = this.#deps.endpoints.vlm;
    if (!this.#deps.blueprints.capabilities().generation) throw falNotConfigured('Defect suggestion', 'FAL_KEY');
    if (!endpoint) throw falNotConfigured('Defect suggestion', 'FAL_VLM_ENDPOINT');
    await this.#deps.blueprints.findOwned(owner, id);
    const objects = await this.#deps.repo.objects(id);
    const object = objectId ? objects.find((o) => o.id === objectId) : objects[0];
    if (objectId && !object) throw blueprintPartNotFound(id, 'photo', objectId);
    if (!object) throw nothingToGenerate('suggestions look at a product photo; upload one first');
    const [job] = await this.#start(owner, id, [this.#newJob('suggestion', id, endpoint, { object_id: object.id })]);
    return job!;
  }

  /** Asks the language endpoint for improved children of a prompt, from its ratings and feedback. */
  async evolve(owner: string | null, id: string, promptId: string, count: number) {
    const endpoint = this.#deps.endpoints.llm;
    if (!this.#deps.blueprints.capabilities().generation) throw falNotConfigured('Prompt evolution', 'FAL_KEY');
    if (!endpoint) throw falNotConfigured('Prompt evolution', 'FAL_LLM_ENDPOINT');
    await this.#deps.blueprints.findOwned(owner, id);
    const defectId = await this.#defectOfPrompt(id, promptId);
    const [job] = await this.#start(owner, id, [this.#newJob('evolution', id, endpoint, { prompt_id: promptId, defect_id: defectId, params: JSON.stringify({ count }) })]);
    return job!;
  }

  async generationFile(owner: string | null, id: string, generationId: string, file: 'image' | 'mask'): Promise<StoredFile> {
    await this.#deps.blueprints.findOwned(owner, id);
    const job = await this.#job(id, generationId, 'generation');
    const key = file === 'image' ? job.image_key : job.mask_key;
    if (job.status !== 'completed' || !key) throw generationNotFinished(generationId, job.status);
    const stored = await this.#deps.files.storedFile(id, key, 'image/png', `${generationId}-${file}.png`);
    if (!stored) throw generationNotFinished(generationId, job.status);
    return stored;
  }

  #requireGeneration() {
    if (!this.#deps.blueprints.capabilities().generation) throw falNotConfigured('Generation', 'FAL_KEY');
  }

  async #defectOfPrompt(id: string, promptId: string): Promise<string> {
    const prompt = await this.#deps.prompts.find(id, promptId);
    if (!prompt) throw blueprintPartNotFound(id, 'prompt', promptId);
    return prompt.defect_id;
  }

  async #job(id: string, jobId: string, kind: JobKind): Promise<BlueprintJobRow> {
    const job = await this.#deps.jobs.find(jobId);
    if (!job || job.blueprint_id !== id || job.kind !== kind) throw blueprintPartNotFound(id, kind, jobId);
    return job;
  }

  #newJob(kind: JobKind, blueprintId: string, endpoint: string, fields: Partial<NewBlueprintJobRow>): NewBlueprintJobRow {
    return {
      id: newPartId(PREFIX[kind]),
      blueprint_id: blueprintId,
      kind,
      status: 'queued',
      object_id: null,
      defect_id: null,
      region_id: null,
      prompt_id: null,
      endpoint,
      seed: null,
      params: '{}',
      webhook_token: webhookToken(),
      ...fields,
    };
  }

  /** Inserts the jobs and puts them in the queue in one transaction, under the generation limit. */
  async #start(owner: string | null, id: string, rows: NewBlueprintJobRow[]) {
    await this.#deps.jobs.transaction(async (trx) => {
      await this.#deps.blueprints.lockOwned(owner, id, trx);
      const generations = rows.filter((r) => r.kind === 'generation').length;
      if (generations && (await this.#deps.jobs.countGenerations(id, trx)) + generations > this.#deps.maxGenerations) {
        throw blueprintLimitReached('generations', this.#deps.maxGenerations, 'maxGenerations', 'BLUEPRINT_MAX_GENERATIONS');
      }
      await this.#deps.jobs.insert(rows, trx);
      for (const row of rows) {
        await this.#deps.runner.enqueueNew(row.id, trx);
        await this.#deps.events.append(id, 'job', { jobId: row.id, kind: row.kind, status: 'queued', objectId: row.object_id, defectId: row.defect_id, promptId: row.prompt_id }, trx);
      }
    });
    await this.#deps.blueprints.refreshStatus(id);
    const created = await Promise.all(rows.map((r) => this.#deps.jobs.find(r.id)));
    return created.map((job) => job!);
  }
}
