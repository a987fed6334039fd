import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { z } from 'zod';
import type { exportBody, exportView } from '../contract/blueprints.ts';
import type { StoredFile } from '../core/run-files-service.ts';
import type { BlueprintEventsRepository } from '../db/blueprint-events-repository.ts';
import type { BlueprintJobsRepository } from '../db/blueprint-jobs-repository.ts';
import type { BlueprintLibraryRepository } from '../db/blueprint-library-repository.ts';
import type { BlueprintPromptsRepository } from '../db/blueprint-prompts-repository.ts';
import type { BlueprintExportRow } from '../db/blueprint-tables.ts';
import type { BlueprintsRepository } from '../db/blueprints-repository.ts';
import { newPartId } from '../domain/blueprint-model.ts';
import { blueprintPartNotFound, nothingToExport } from '../domain/problems.ts';
import { pathSlug } from '../formats/mvtec.ts';
import type { BlueprintFiles } from './blueprint-files.ts';
import type { BlueprintsService } from './blueprints-service.ts';
import { type ExportInput, writeDatasetZip } from './dataset-export.ts';

export interface ExportServiceDeps {
  blueprints: Pick<BlueprintsService, 'findOwned'>;
  repo: BlueprintsRepository;
  jobs: BlueprintJobsRepository;
  prompts: BlueprintPromptsRepository;
  events: BlueprintEventsRepository;
  library: BlueprintLibraryRepository;
  files: BlueprintFiles;
}

type ExportView = z.infer<typeof exportView>;

const view = (row: BlueprintExportRow): ExportView => ({
  id: row.id,
  bytes: row.bytes,
  sha256: row.sha256,
  options: row.options,
  summary: row.summary,
  createdAt: row.created_at.toISOString(),
  downloadUrl: `/api/blueprints/${row.blueprint_id}/exports/${row.id}/download`,
});

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Dataset exports: a reproducible ZIP (COCO, YOLO, MVTec, manifest) kept in the blob store. */
export class ExportService {
  readonly #deps: ExportServiceDeps;

  constructor(deps: ExportServiceDeps) {
    this.#deps = deps;
  }

  async export(owner: string | null, id: string, input: z.infer<typeof exportBody>): Promise<ExportView> {
    const blueprint = await this.#deps.blueprints.findOwned(owner, id);
    const [objects, defects, prompts, jobs] = await Promise.all([
      this.#deps.repo.objects(id),
      this.#deps.repo.defects(id),
      this.#deps.prompts.list(id),
      this.#deps.jobs.list(id, 'generation'),
    ]);
    const data: ExportInput = {
      blueprint: { id, name: blueprint.name, productType: blueprint.product_type, createdAt: blueprint.created_at.toISOString() },
      objects: objects.map((o) => ({ id: o.id, name: o.name, sha256: o.sha256, position: o.position, blobKey: o.blob_key })),
      defects: defects.map((d) => ({ id: d.id, name: d.name, categoryId: d.category_id })),
      prompts: prompts.map((p) => ({ id: p.id, parentId: p.parent_id, text: p.text, strategy: p.strategy })),
      generations: jobs
        .filter((j) => j.status === 'completed' && j.image_key && j.mask_key)
        .map((j) => ({
          id: j.id,
          objectId: j.object_id!,
          defectId: j.defect_id!,
          promptId: j.prompt_id!,
          model: j.endpoint,
          seed: j.seed ?? 0,
          requestId: j.request_id,
          rating: j.rating,
          feedback: j.feedback,
          imageKey: j.image_key!,
          maskKey: j.mask_key!,
        })),
    };
    const options = { ...input, splitSeed: input.splitSeed ?? blueprint.split_seed };
    const zipPath = await this.#deps.files.scratchFile('dataset.zip');
    try {
      const summary = await writeDatasetZip(data, options, (key) => this.#deps.files.read(id, key), zipPath);
      if (!summary.generations) throw nothingToExport(options.include);
      const [sha256, { size }] = await Promise.all([sha256OfFile(zipPath), stat(zipPath)]);
      const exportId = newPartId('ex');
      const key = `exports/${exportId}.zip`;
      await this.#deps.files.put(id, key, zipPath);
      await this.#deps.library.insertExport({ id: exportId, blueprint_id: id, options: JSON.stringify(options), blob_key: key, bytes: size, sha256, summary: JSON.stringify(summary) });
      await this.#deps.events.append(id, 'export', { exportId, bytes: size, sha256 });
      return view((await this.#deps.library.export(id, exportId))!);
    } finally {
      await this.#deps.files.discardScratch(zipPath);
    }
  }

  async list(owner: string | null, id: string): Promise<ExportView[]> {
    await this.#deps.blueprints.findOwned(owner, id);
    return (await this.#deps.library.exports(id)).map(view);
  }

  async file(owner: string | null, id: string, exportId: string): Promise<StoredFile> {
    const blueprint = await this.#deps.blueprints.findOwned(owner, id);
    const row = await this.#deps.library.export(id, exportId);
    const file = row && (await this.#deps.files.storedFile(id, row.blob_key, 'application/zip', `${pathSlug(blueprint.name, 'blueprint')}-dataset-${exportId}.zip`));
    if (!file) throw blueprintPartNotFound(id, 'export', exportId);
    return file;
  }
}
