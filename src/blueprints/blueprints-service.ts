import type { Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { blueprintCapabilities, BlueprintView, createBlueprintBody, updateBlueprintBody } from '../contract/blueprints.ts';
import type { EventFeed } from '../core/event-feed.ts';
import type { BlueprintEvent, BlueprintEventsRepository } from '../db/blueprint-events-repository.ts';
import type { BlueprintJobsRepository } from '../db/blueprint-jobs-repository.ts';
import type { BlueprintPromptsRepository } from '../db/blueprint-prompts-repository.ts';
import type { BlueprintJobRow, BlueprintRow } from '../db/blueprint-tables.ts';
import type { BlueprintsRepository } from '../db/blueprints-repository.ts';
import type { Database } from '../db/schema.ts';
import { blueprintStatus, newBlueprintId } from '../domain/blueprint-model.ts';
import { blueprintNotFound, blueprintsPerKeyLimit, unknownImageModel } from '../domain/problems.ts';
import { IMAGE_MODELS } from '../engines/fal/image-models.ts';
import type { WebhooksService } from '../webhooks/webhooks-service.ts';
import type { BlueprintFiles } from './blueprint-files.ts';
import { toBlueprintView, toGenerationView, toSummaryView } from './blueprint-views.ts';
import type { FalJobRunner } from './fal-job-runner.ts';

export interface BlueprintsServiceDeps {
  repo: BlueprintsRepository;
  jobs: BlueprintJobsRepository;
  prompts: BlueprintPromptsRepository;
  events: BlueprintEventsRepository;
  files: BlueprintFiles;
  feed: EventFeed<BlueprintEvent>;
  runner: Pick<FalJobRunner, 'cancel'>;
  webhooks: Pick<WebhooksService, 'enqueue' | 'endpointTargets' | 'assertAcceptableUrl'>;
  log: Logger;
  capabilities: z.infer<typeof blueprintCapabilities>;
  maxPerKey: number;
}

/**
 * Blueprints themselves: create, read, change, delete, follow; ownership (another key's blueprint
 * is a 404); the status, derived from jobs and ratings whenever they change; and the webhooks a
 * finished generation or a completed blueprint sends.
 */
export class BlueprintsService {
  readonly #deps: BlueprintsServiceDeps;

  constructor(deps: BlueprintsServiceDeps) {
    this.#deps = deps;
  }

  capabilities() {
    return this.#deps.capabilities;
  }

  async findOwned(owner: string | null, id: string, db?: Transaction<Database>): Promise<BlueprintRow> {
    const row = await this.#deps.repo.find(id, db);
    if (!row || (owner && row.owner !== owner)) throw blueprintNotFound(id);
    return row;
  }

  /** Locks the blueprint (404 for other keys) for the rest of the transaction. */
  async lockOwned(owner: string | null, id: string, trx: Transaction<Database>): Promise<BlueprintRow> {
    const row = await this.#deps.repo.lock(id, trx);
    if (!row || (owner && row.owner !== owner)) throw blueprintNotFound(id);
    return row;
  }

  checkModel(model: string): string {
    if (!IMAGE_MODELS[model]) throw unknownImageModel(model, Object.keys(IMAGE_MODELS));
    return model;
  }

  async create(owner: string | null, input: z.infer<typeof createBlueprintBody>, withTemplate?: (id: string, trx: Transaction<Database>) => Promise<void>): Promise<BlueprintView> {
    const model = this.checkModel(input.model ?? this.#deps.capabilities.defaultModel);
    if (input.webhookUrl) this.#deps.webhooks.assertAcceptableUrl(input.webhookUrl, 'webhookUrl');
    if (owner) {
      const { total } = await this.#deps.repo.list({ owner, limit: 1, offset: 0 });
      if (total >= this.#deps.maxPerKey) throw blueprintsPerKeyLimit(this.#deps.maxPerKey);
    }
    const id = newBlueprintId();
    await this.#deps.repo.transaction(async (trx) => {
      await this.#deps.repo.insert(
        {
          id,
          owner,
          name: input.name,
          product_type: input.productType ?? null,
          model,
          webhook_url: input.webhookUrl ?? null,
          split_seed: Math.floor(Math.random() * 2 ** 31),
          created_at: new Date(),
          updated_at: new Date(),
        },
        trx,
      );
      await this.#deps.events.append(id, 'status', { status: 'draft' }, trx);
      await withTemplate?.(id, trx);
    });
    return this.get(owner, id);
  }

  async list(owner: string | null, page: { limit: number; offset: number }) {
    const { rows, total } = await this.#deps.repo.list({ owner, ...page });
    return { blueprints: rows.map(toSummaryView), total };
  }

  async get(owner: string | null, id: string): Promise<BlueprintView> {
    const row = await this.findOwned(owner, id);
    const [objects, defects, regions, prompts, jobs, stats] = await Promise.all([
      this.#deps.repo.objects(id),
      this.#deps.repo.defects(id),
      this.#deps.repo.regions(id),
      this.#deps.prompts.list(id),
      this.#deps.jobs.list(id),
      this.#deps.jobs.promptStats(id),
    ]);
    return toBlueprintView({ row, objects, defects, regions, prompts, jobs, stats });
  }

  async update(owner: string | null, id: string, input: z.infer<typeof updateBlueprintBody>): Promise<BlueprintView> {
    await this.findOwned(owner, id);
    if (input.model) this.checkModel(input.model);
    if (input.webhookUrl) this.#deps.webhooks.assertAcceptableUrl(input.webhookUrl, 'webhookUrl');
    await this.#deps.repo.update(id, {
      ...(input.name !== undefined && { name: input.name }),
      ...(input.productType !== undefined && { product_type: input.productType }),
      ...(input.model !== undefined && { model: input.model }),
      ...(input.webhookUrl !== undefined && { webhook_url: input.webhookUrl }),
    });
    return this.get(owner, id);
  }

  /** Cancels its jobs at fal, then removes the blueprint and every file it had. */
  async delete(owner: string | null, id: string): Promise<void> {
    await this.findOwned(owner, id);
    const active = await this.#deps.jobs.activeFor(id);
    await this.#deps.runner.cancel(active.map((j) => j.id));
    await this.#deps.repo.delete(id);
    await this.#deps.files.removeAll(id);
  }

  /**
   * Events after `afterId`, then live ones until the blueprint's newest status says generation
   * stopped; undefined when there is nothing to follow (caught up, and not generating).
   */
  async followEvents(owner: string | null, id: string, afterId: number, signal: AbortSignal) {
    const row = await this.findOwned(owner, id);
    const lastStatus = await this.#deps.events.lastOfType(id, 'status');
    if (afterId >= lastStatus && row.status !== 'generating') return undefined;
    return this.#deps.feed.follow(id, afterId, signal, (event) => event.type === 'status' && event.id >= lastStatus && event.data.status !== 'generating');
  }

  /**
   * Derives the status from the generations (and, per photo × defect cell, whether one is
   * approved); records and announces a change. `blueprint.completed` goes out when every cell
   * has an approved image.
   */
  async refreshStatus(id: string): Promise<void> {
    const changed = await this.#deps.repo.transaction(async (trx) => {
      const row = await this.#deps.repo.lock(id, trx);
      if (!row) return undefined;
      const [objects, defects, generations] = await Promise.all([
        this.#deps.repo.objects(id, trx),
        this.#deps.repo.defects(id, trx),
        this.#deps.jobs.generationStates(id, trx),
      ]);
      const status = blueprintStatus({
        generations: generations.map((g) => ({ status: g.status, rating: g.rating, cell: `${g.object_id}:${g.defect_id}` })),
        cells: objects.length * defects.length,
      });
      if (status === row.status) return undefined;
      await this.#deps.repo.update(id, { status }, trx);
      const eventId = await this.#deps.events.append(id, 'status', { status }, trx);
      return { row: { ...row, status }, eventId };
    });
    if (changed?.row.status === 'completed') {
      await this.#announce(changed.row, 'blueprint.completed', `blueprint-completed:${id}:${changed.eventId}`, { blueprint: toSummaryView(changed.row) });
    }
  }

  /** Called by the job runner whenever a job settles (finished, failed, canceled, retrying). */
  async jobSettled(job: BlueprintJobRow): Promise<void> {
    if (job.kind !== 'generation') return;
    await this.refreshStatus(job.blueprint_id);
    if (job.status !== 'completed') return;
    const row = await this.#deps.repo.find(job.blueprint_id);
    if (row) await this.#announce(row, 'blueprint.generation.completed', `blueprint-generation:${job.id}`, { blueprintId: row.id, generation: toGenerationView(job) });
  }

  async #announce(row: BlueprintRow, type: 'blueprint.completed' | 'blueprint.generation.completed', eventKey: string, data: Record<string, unknown>) {
    try {
      const targets = await this.#deps.webhooks.endpointTargets(row.owner, type);
      if (row.webhook_url) targets.push({ endpointId: null, url: row.webhook_url });
      if (!targets.length) return;
      await this.#deps.webhooks.enqueue({ owner: row.owner, type, eventKey, targets, payload: { type, timestamp: new Date().toISOString(), ...data } });
    } catch (error) {
      this.#deps.log.warn({ err: error, blueprintId: row.id, type }, 'could not queue the blueprint webhook');
    }
  }
}
