import type { z } from 'zod';
import type { addRegionBody } from '../contract/blueprints.ts';
import type { StoredFile } from '../core/run-files-service.ts';
import type { BlueprintEventsRepository } from '../db/blueprint-events-repository.ts';
import type { BlueprintJobsRepository } from '../db/blueprint-jobs-repository.ts';
import type { BlueprintRegionRow } from '../db/blueprint-tables.ts';
import type { BlueprintsRepository } from '../db/blueprints-repository.ts';
import { type Box, newPartId } from '../domain/blueprint-model.ts';
import { blueprintLimitReached, blueprintPartNotFound, noRoomForRegion, regionInvalid } from '../domain/problems.ts';
import { type BinaryMask, boxMask, decodeMask, encodeMask, maskArea, maskBox } from '../formats/mask.ts';
import type { BlueprintFiles } from './blueprint-files.ts';
import type { BlueprintsService } from './blueprints-service.ts';
import type { FalJobRunner } from './fal-job-runner.ts';
import { productForeground } from './product-foreground.ts';
import { placeRegion } from './region-placement.ts';
import { readRgb } from './rgb-image.ts';

export interface RegionServiceDeps {
  blueprints: Pick<BlueprintsService, 'findOwned' | 'refreshStatus'>;
  repo: BlueprintsRepository;
  jobs: BlueprintJobsRepository;
  events: BlueprintEventsRepository;
  files: BlueprintFiles;
  runner: Pick<FalJobRunner, 'cancel'>;
  maxRegions: number;
}

/**
 * Where each defect goes on each photo: a box, a drawn mask of the photo's size, or an ellipse
 * placed inside the product automatically. Stored as binary mask PNGs; the box and area recorded.
 */
export class RegionService {
  readonly #deps: RegionServiceDeps;

  constructor(deps: RegionServiceDeps) {
    this.#deps = deps;
  }

  /** A region from a box, a drawn mask (PNG, the photo's size) or placed automatically inside the product. */
  async addRegion(owner: string | null, id: string, input: z.infer<typeof addRegionBody>): Promise<string> {
    await this.#deps.blueprints.findOwned(owner, id);
    const [objects, defects] = await Promise.all([this.#deps.repo.objects(id), this.#deps.repo.defects(id)]);
    const object = objects.find((o) => o.id === input.objectId);
    if (!object) throw blueprintPartNotFound(id, 'photo', input.objectId);
    if (!defects.some((d) => d.id === input.defectId)) throw blueprintPartNotFound(id, 'defect', input.defectId);
    let mask: BinaryMask;
    let kind: 'box' | 'mask' | 'auto';
    if (input.box) {
      const [x, y, w, h] = input.box;
      if (x + w > object.width || y + h > object.height) throw regionInvalid(`Box [${input.box.join(', ')}] leaves the ${object.width}x${object.height} photo`);
      mask = boxMask(object.width, object.height, input.box);
      kind = 'box';
    } else if (input.mask) {
      const bytes = Buffer.from(input.mask.replace(/^data:image\/[a-z]+;base64,/, ''), 'base64');
      mask = await decodeMask(bytes).catch(() => {
        throw regionInvalid('The mask is not a readable PNG image (send base64 or a data: URL)');
      });
      if (mask.width !== object.width || mask.height !== object.height) {
        throw regionInvalid(`The mask is ${mask.width}x${mask.height}; it must be the photo's size, ${object.width}x${object.height}`);
      }
      kind = 'mask';
    } else {
      const photo = await readRgb(await this.#deps.files.read(id, object.blob_key));
      const placed = placeRegion(productForeground(photo), Math.floor(Math.random() * 2 ** 31));
      if (!placed) throw noRoomForRegion(object.name);
      mask = placed;
      kind = 'auto';
    }
    return this.#storeRegion(id, object.id, input.defectId, kind, mask);
  }

  /** Cells without a region get one placed automatically (what generating such a cell needs). */
  async ensureRegions(id: string, cells: { objectId: string; defectId: string }[]): Promise<BlueprintRegionRow[]> {
    const regions = await this.#deps.repo.regions(id);
    const objects = await this.#deps.repo.objects(id);
    for (const cell of cells) {
      if (regions.some((r) => r.object_id === cell.objectId && r.defect_id === cell.defectId)) continue;
      const object = objects.find((o) => o.id === cell.objectId)!;
      const photo = await readRgb(await this.#deps.files.read(id, object.blob_key));
      const placed = placeRegion(productForeground(photo), Math.floor(Math.random() * 2 ** 31));
      if (!placed) throw noRoomForRegion(object.name);
      await this.#storeRegion(id, cell.objectId, cell.defectId, 'auto', placed);
    }
    return this.#deps.repo.regions(id);
  }

  async #storeRegion(id: string, objectId: string, defectId: string, kind: 'box' | 'mask' | 'auto', mask: BinaryMask): Promise<string> {
    const bbox = maskBox(mask) as Box | undefined;
    if (!bbox) throw regionInvalid('The region is empty: draw at least one pixel');
    const regionId = newPartId('rg');
    const key = `regions/${regionId}.png`;
    await this.#deps.files.write(id, key, await encodeMask(mask));
    try {
      await this.#deps.repo.transaction(async (trx) => {
        await this.#deps.repo.lock(id, trx);
        if ((await this.#deps.repo.countRegions(id, trx)) >= this.#deps.maxRegions) {
          throw blueprintLimitReached('regions', this.#deps.maxRegions, 'maxRegions', 'BLUEPRINT_MAX_REGIONS');
        }
        await this.#deps.repo.addRegion({ id: regionId, blueprint_id: id, object_id: objectId, defect_id: defectId, kind, bbox: JSON.stringify(bbox), area: maskArea(mask), mask_key: key }, trx);
        await this.#deps.events.append(id, 'design', { change: 'regions', added: [regionId] }, trx);
      });
    } catch (error) {
      await this.#deps.files.remove(id, key);
      throw error;
    }
    return regionId;
  }

  async regionMask(owner: string | null, id: string, regionId: string): Promise<StoredFile> {
    await this.#deps.blueprints.findOwned(owner, id);
    const region = (await this.#deps.repo.regions(id)).find((r) => r.id === regionId);
    if (!region) throw blueprintPartNotFound(id, 'region', regionId);
    const file = await this.#deps.files.storedFile(id, region.mask_key, 'image/png', `${regionId}.png`);
    if (!file) throw blueprintPartNotFound(id, 'region', regionId);
    return file;
  }

  async removeRegion(owner: string | null, id: string, regionId: string): Promise<void> {
    await this.#deps.blueprints.findOwned(owner, id);
    const active = (await this.#deps.jobs.activeFor(id)).filter((j) => j.region_id === regionId);
    await this.#deps.runner.cancel(active.map((j) => j.id));
    const removed = await this.#deps.repo.deleteRegion(id, regionId);
    if (!removed) throw blueprintPartNotFound(id, 'region', regionId);
    await this.#deps.files.remove(id, removed.mask_key);
    await this.#deps.events.append(id, 'design', { change: 'regions', removed: [regionId] });
    await this.#deps.blueprints.refreshStatus(id);
  }
}
