import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Transaction } from 'kysely';
import sharp from 'sharp';
import type { z } from 'zod';
import type { templateBody } from '../contract/blueprints.ts';
import type { LocalImage } from '../core/image-check.ts';
import type { StoredFile } from '../core/run-files-service.ts';
import type { BlueprintJobsRepository } from '../db/blueprint-jobs-repository.ts';
import type { BlueprintLibraryRepository } from '../db/blueprint-library-repository.ts';
import type { BlueprintPromptsRepository } from '../db/blueprint-prompts-repository.ts';
import type { BlueprintRow } from '../db/blueprint-tables.ts';
import type { BlueprintsRepository } from '../db/blueprints-repository.ts';
import type { BlueprintEventsRepository } from '../db/blueprint-events-repository.ts';
import type { Database } from '../db/schema.ts';
import { type DefectSource, newPartId } from '../domain/blueprint-model.ts';
import {
  blueprintLimitReached,
  blueprintPartNotFound,
  blueprintTooLarge,
  defectNameTaken,
  notAnImage,
  photoTooLarge,
  promptOfOtherDefect,
  templateNotFound,
} from '../domain/problems.ts';
import { pathSlug } from '../formats/mvtec.ts';
import type { BlueprintFiles } from './blueprint-files.ts';
import type { BlueprintsService } from './blueprints-service.ts';
import type { FalJobRunner } from './fal-job-runner.ts';
import { seedPromptText } from './prompt-texts.ts';
import { BUILT_IN_TEMPLATES, type DefectTemplate } from './templates.ts';

export interface DesignLimits {
  maxObjects: number;
  maxDefects: number;
  maxBytes: number;
  maxPixels: number;
  maxFileBytes: number;
}

export interface BlueprintDesignDeps {
  blueprints: Pick<BlueprintsService, 'findOwned' | 'lockOwned' | 'refreshStatus'>;
  repo: BlueprintsRepository;
  prompts: BlueprintPromptsRepository;
  jobs: BlueprintJobsRepository;
  events: BlueprintEventsRepository;
  library: BlueprintLibraryRepository;
  files: BlueprintFiles;
  runner: Pick<FalJobRunner, 'cancel'>;
  limits: DesignLimits;
}

export interface NewDefect {
  name: string;
  description?: string | undefined;
  rationale?: string | undefined;
  source: DefectSource;
}

const ownerKey = (owner: string | null) => owner ?? '';

/**
 * What a blueprint is made of: product photos, defect classes (custom, from templates, or
 * suggested; each with a stable category id and a seed prompt), prompt edits, and the defect
 * templates themselves. (Regions have a service of their own.)
 */
export class BlueprintDesignService {
  readonly #deps: BlueprintDesignDeps;

  constructor(deps: BlueprintDesignDeps) {
    this.#deps = deps;
  }

  // Photos

  /** How many more photos and bytes an upload may bring. */
  async uploadAllowance(owner: string | null, id: string) {
    await this.#deps.blueprints.findOwned(owner, id);
    const { count, bytes } = await this.#deps.repo.objectStats(id);
    const { maxObjects, maxBytes, maxFileBytes } = this.#deps.limits;
    return { images: Math.max(0, maxObjects - count), bytes: Math.max(0, maxBytes - bytes), maxImages: maxObjects, maxFileBytes, maxRunBytes: maxBytes, what: 'blueprint' };
  }

  /** Adds staged photos, all or none: each is decoded (size, pixels) and hashed, then stored. */
  async addPhotos(owner: string | null, id: string, staged: LocalImage[]): Promise<string[]> {
    await this.#deps.blueprints.findOwned(owner, id);
    const prepared: { image: LocalImage; objectId: string; width: number; height: number; sha256: string; key: string }[] = [];
    for (const image of staged) {
      const bytes = await readFile(image.path);
      const meta = await sharp(bytes, { failOn: 'error' })
        .metadata()
        .catch(() => undefined);
      if (!meta?.width || !meta.height) throw notAnImage(image.originalName);
      const [width, height] = (meta.orientation ?? 1) >= 5 ? [meta.height, meta.width] : [meta.width, meta.height];
      if (width * height > this.#deps.limits.maxPixels) throw photoTooLarge(image.originalName, width * height, this.#deps.limits.maxPixels);
      const objectId = newPartId('ob');
      const extension = image.contentType.split('/')[1] === 'jpeg' ? 'jpg' : (image.contentType.split('/')[1] ?? 'bin');
      prepared.push({ image, objectId, width, height, sha256: createHash('sha256').update(bytes).digest('hex'), key: `objects/${objectId}.${extension}` });
    }
    for (const p of prepared) await this.#deps.files.put(id, p.key, p.image.path);
    try {
      await this.#deps.repo.transaction(async (trx) => {
        await this.#deps.blueprints.lockOwned(owner, id, trx);
        const stats = await this.#deps.repo.objectStats(id, trx);
        const { maxObjects, maxBytes } = this.#deps.limits;
        if (stats.count + prepared.length > maxObjects) throw blueprintLimitReached('photos', maxObjects, 'maxObjects', 'BLUEPRINT_MAX_OBJECTS');
        if (stats.bytes + prepared.reduce((n, p) => n + p.image.bytes, 0) > maxBytes) throw blueprintTooLarge(maxBytes);
        let position = stats.nextPosition;
        for (const p of prepared) {
          await this.#deps.repo.addObject(
            {
              id: p.objectId,
              blueprint_id: id,
              name: p.image.originalName.replace(/\.[a-z0-9]{2,5}$/i, '').slice(0, 200) || p.objectId,
              content_type: p.image.contentType,
              width: p.width,
              height: p.height,
              bytes: p.image.bytes,
              sha256: p.sha256,
              blob_key: p.key,
              position: position++,
            },
            trx,
          );
        }
        await this.#deps.events.append(id, 'design', { change: 'photos', added: prepared.map((p) => p.objectId) }, trx);
      });
    } catch (error) {
      await Promise.all(prepared.map((p) => this.#deps.files.remove(id, p.key)));
      throw error;
    }
    await this.#deps.blueprints.refreshStatus(id);
    return prepared.map((p) => p.objectId);
  }

  async photoFile(owner: string | null, id: string, objectId: string): Promise<StoredFile> {
    await this.#deps.blueprints.findOwned(owner, id);
    const object = (await this.#deps.repo.objects(id)).find((o) => o.id === objectId);
    if (!object) throw blueprintPartNotFound(id, 'photo', objectId);
    const file = await this.#deps.files.storedFile(id, object.blob_key, object.content_type, `${pathSlug(object.name, 'photo')}.${object.blob_key.split('.').pop()}`);
    if (!file) throw blueprintPartNotFound(id, 'photo', objectId);
    return file;
  }

  async removePhoto(owner: string | null, id: string, objectId: string): Promise<void> {
    await this.#deps.blueprints.findOwned(owner, id);
    const active = (await this.#deps.jobs.activeFor(id)).filter((j) => j.object_id === objectId);
    await this.#deps.runner.cancel(active.map((j) => j.id));
    const removed = await this.#deps.repo.deleteObject(id, objectId);
    if (!removed) throw blueprintPartNotFound(id, 'photo', objectId);
    await this.#deps.files.remove(id, removed.blob_key);
    await this.#deps.events.append(id, 'design', { change: 'photos', removed: [objectId] });
    await this.#deps.blueprints.refreshStatus(id);
  }

  // Defects and templates

  /** Adds defect classes, each with a stable category id and a seed prompt; names are unique per blueprint. */
  async addDefects(owner: string | null, id: string, defects: NewDefect[], template?: string): Promise<string[]> {
    const ids = await this.#deps.repo.transaction(async (trx) => {
      const blueprint = await this.#deps.blueprints.lockOwned(owner, id, trx);
      return this.#insertDefects(blueprint, defects, template ?? null, trx);
    });
    await this.#deps.blueprints.refreshStatus(id);
    return ids;
  }

  /** Adds a template's defects (those not already in the blueprint), recording `id@version`. */
  async applyTemplate(owner: string | null, id: string, reference: string, trx?: Transaction<Database>): Promise<string[]> {
    // Inside the caller's transaction every query must use it: on PGlite another would wait forever.
    const template = await this.#resolveTemplate(owner, reference, trx);
    const apply = async (t: Transaction<Database>) => {
      const blueprint = await this.#deps.blueprints.lockOwned(owner, id, t);
      const existing = new Set((await this.#deps.repo.defects(id, t)).map((d) => d.name.toLowerCase()));
      const fresh = template.defects.filter((d) => !existing.has(d.name.toLowerCase())).map((d) => ({ ...d, source: 'template' as const }));
      const productType = blueprint.product_type ?? (template.productType || null);
      if (productType !== blueprint.product_type) await this.#deps.repo.update(id, { product_type: productType }, t);
      return this.#insertDefects({ ...blueprint, product_type: productType }, fresh, `${template.id}@${template.version}`, t);
    };
    if (trx) return apply(trx);
    const ids = await this.#deps.repo.transaction(apply);
    await this.#deps.blueprints.refreshStatus(id);
    return ids;
  }

  async #insertDefects(blueprint: BlueprintRow, defects: NewDefect[], template: string | null, trx: Transaction<Database>): Promise<string[]> {
    const existing = await this.#deps.repo.defects(blueprint.id, trx);
    const { maxDefects } = this.#deps.limits;
    if (existing.length + defects.length > maxDefects) throw blueprintLimitReached('defect classes', maxDefects, 'maxDefects', 'BLUEPRINT_MAX_DEFECTS');
    const names = new Set(existing.map((d) => d.name.toLowerCase()));
    const ids: string[] = [];
    for (const defect of defects) {
      if (names.has(defect.name.toLowerCase())) throw defectNameTaken(defect.name);
      names.add(defect.name.toLowerCase());
      const defectId = newPartId('df');
      await this.#deps.repo.addDefect(
        {
          id: defectId,
          blueprint_id: blueprint.id,
          category_id: await this.#deps.repo.takeCategoryId(blueprint.id, trx),
          name: defect.name,
          description: defect.description || null,
          rationale: defect.rationale || null,
          source: defect.source,
          template: defect.source === 'template' ? template : null,
        },
        trx,
      );
      await this.#deps.prompts.insert(
        [
          {
            id: newPartId('pr'),
            blueprint_id: blueprint.id,
            defect_id: defectId,
            parent_id: null,
            text: seedPromptText({ name: defect.name, description: defect.description ?? null }, blueprint.product_type),
            strategy: 'seed',
            note: null,
          },
        ],
        trx,
      );
      ids.push(defectId);
    }
    await this.#deps.events.append(blueprint.id, 'design', { change: 'defects', added: ids }, trx);
    return ids;
  }

  async updateDefect(owner: string | null, id: string, defectId: string, changes: { name?: string | undefined; description?: string | null | undefined }): Promise<void> {
    await this.#deps.repo.transaction(async (trx) => {
      await this.#deps.blueprints.lockOwned(owner, id, trx);
      const defects = await this.#deps.repo.defects(id, trx);
      if (!defects.some((d) => d.id === defectId)) throw blueprintPartNotFound(id, 'defect', defectId);
      if (changes.name && defects.some((d) => d.id !== defectId && d.name.toLowerCase() === changes.name!.toLowerCase())) throw defectNameTaken(changes.name);
      await this.#deps.repo.updateDefect(
        id,
        defectId,
        { ...(changes.name !== undefined && { name: changes.name }), ...(changes.description !== undefined && { description: changes.description }) },
        trx,
      );
      await this.#deps.events.append(id, 'design', { change: 'defects', updated: [defectId] }, trx);
    });
  }

  async removeDefect(owner: string | null, id: string, defectId: string): Promise<void> {
    await this.#deps.blueprints.findOwned(owner, id);
    const active = (await this.#deps.jobs.activeFor(id)).filter((j) => j.defect_id === defectId);
    await this.#deps.runner.cancel(active.map((j) => j.id));
    if (!(await this.#deps.repo.deleteDefect(id, defectId))) throw blueprintPartNotFound(id, 'defect', defectId);
    await this.#deps.events.append(id, 'design', { change: 'defects', removed: [defectId] });
    await this.#deps.blueprints.refreshStatus(id);
  }

  async templates(owner: string | null): Promise<DefectTemplate[]> {
    const mine = await this.#deps.library.templates(ownerKey(owner));
    return [
      ...BUILT_IN_TEMPLATES,
      ...mine.map((t) => ({ id: t.id, version: t.version, name: t.name, productType: t.product_type ?? '', defects: t.defects, builtIn: false })),
    ];
  }

  /** A new template, or (with the id of one of yours) its next version; earlier versions stay. */
  async saveTemplate(owner: string | null, input: z.infer<typeof templateBody>): Promise<DefectTemplate> {
    let id = input.id;
    let version = 1;
    if (id) {
      const current = await this.#deps.library.template(ownerKey(owner), id);
      if (!current) throw templateNotFound(id);
      version = current.version + 1;
    } else {
      id = `my-${pathSlug(input.name, 'template')}-${Date.now().toString(36)}`;
    }
    const defects = input.defects.map((d) => ({ name: d.name, description: d.description }));
    await this.#deps.library.insertTemplate({ id, version, owner: ownerKey(owner), name: input.name, product_type: input.productType ?? null, defects });
    return { id, version, name: input.name, productType: input.productType ?? '', defects, builtIn: false };
  }

  async #resolveTemplate(owner: string | null, reference: string, trx?: Transaction<Database>): Promise<DefectTemplate> {
    const [id = '', versionText] = reference.split('@');
    const version = versionText === undefined ? undefined : Number(versionText);
    const builtIn = BUILT_IN_TEMPLATES.find((t) => t.id === id && (version === undefined || t.version === version));
    if (builtIn) return builtIn;
    const row = Number.isInteger(version) || version === undefined ? await this.#deps.library.template(ownerKey(owner), id, version, trx) : undefined;
    if (!row) throw templateNotFound(reference);
    return { id: row.id, version: row.version, name: row.name, productType: row.product_type ?? '', defects: row.defects, builtIn: false };
  }

  // Prompts

  /** An edited prompt: a new child of `parentId` (prompts are never changed in place). */
  async editPrompt(owner: string | null, id: string, parentId: string, text: string): Promise<string> {
    await this.#deps.blueprints.findOwned(owner, id);
    const parent = await this.#deps.prompts.find(id, parentId);
    if (!parent) throw blueprintPartNotFound(id, 'prompt', parentId);
    const promptId = newPartId('pr');
    await this.#deps.repo.transaction(async (trx) => {
      await this.#deps.prompts.insert([{ id: promptId, blueprint_id: id, defect_id: parent.defect_id, parent_id: parent.id, text, strategy: 'manual_edit', note: null }], trx);
      await this.#deps.events.append(id, 'prompt', { promptId, parentId, strategy: 'manual_edit' }, trx);
    });
    return promptId;
  }

  /** The prompt a generation of `defectId` uses: the one given (it must be that defect's) or the newest. */
  async promptFor(id: string, defectId: string, promptId: string | undefined): Promise<string> {
    if (promptId) {
      const prompt = await this.#deps.prompts.find(id, promptId);
      if (!prompt) throw blueprintPartNotFound(id, 'prompt', promptId);
      if (prompt.defect_id !== defectId) throw promptOfOtherDefect(promptId, defectId);
      return prompt.id;
    }
    const latest = await this.#deps.prompts.latest(defectId);
    if (!latest) throw blueprintPartNotFound(id, 'prompt for defect', defectId);
    return latest.id;
  }

}
