import type { BlueprintPromptsRepository } from '../db/blueprint-prompts-repository.ts';
import type { BlueprintJobRow } from '../db/blueprint-tables.ts';
import type { BlueprintsRepository } from '../db/blueprints-repository.ts';
import { FalError } from '../engines/fal/fal-error.ts';
import type { FalGateway } from '../engines/fal/fal-gateway.ts';
import { firstImage, IMAGE_MODELS } from '../engines/fal/image-models.ts';
import { decodeMask, encodeMask, maskArea, maskBox } from '../formats/mask.ts';
import type { BlueprintFiles } from './blueprint-files.ts';
import { differenceLabel } from './difference-label.ts';
import type { FalJobKind, FinishedJob } from './fal-job-kind.ts';
import { productForeground } from './product-foreground.ts';
import { readRgb, writePng } from './rgb-image.ts';

export interface GenerationJobDeps {
  design: Pick<BlueprintsRepository, 'objects' | 'regions'>;
  prompts: Pick<BlueprintPromptsRepository, 'find'>;
  files: BlueprintFiles;
  gateway: Pick<FalGateway, 'upload' | 'download'>;
}

/** A photo uploaded to fal's storage is used again for this long (a matrix sends each photo many times). */
const UPLOAD_REUSE_MS = 10 * 60_000;

/** Where a generation's files live in its blueprint's store. */
export const generationKeys = (jobId: string) => ({ image: `generations/${jobId}/image.png`, mask: `generations/${jobId}/mask.png` });

/**
 * One defect image of one product photo. Inpainting models get the photo and our region mask,
 * and the label is that mask; mask-free editing models get the photo alone, and the label is
 * what they changed inside the product. The output is brought back to the photo's size (some
 * models round sizes), stored as PNG with its mask, and the seed sent is the seed stored.
 */
export class GenerationJob implements FalJobKind {
  readonly #deps: GenerationJobDeps;
  /** fal storage URLs of photos by sha256 (shared by concurrent jobs while the upload runs). */
  readonly #uploads = new Map<string, { url: Promise<string>; at: number }>();

  constructor(deps: GenerationJobDeps) {
    this.#deps = deps;
  }

  async prepare(job: BlueprintJobRow): Promise<Record<string, unknown>> {
    const { object, region, prompt, model } = await this.#parts(job);
    const { files, gateway } = this.#deps;
    const imageUrl = await this.#photoUrl(job.blueprint_id, object);
    const maskUrl = model.kind === 'inpaint' ? await gateway.upload(await files.read(job.blueprint_id, region.mask_key), 'image/png', `${region.id}.png`) : undefined;
    return model.input({ prompt: prompt.text, imageUrl, ...(maskUrl && { maskUrl }), seed: job.seed ?? 0 });
  }

  async finish(job: BlueprintJobRow, output: unknown): Promise<FinishedJob> {
    const { object, region, model } = await this.#parts(job);
    const { files, gateway } = this.#deps;
    const image = firstImage(output);
    if (!image) throw new FalError(`fal's output for request ${job.request_id} holds no image`, { transient: false });
    const downloaded = await gateway.download(image.url);
    const original = await readRgb(await files.read(job.blueprint_id, object.blob_key));
    const size = { width: original.width, height: original.height };
    const generated = await readRgb(downloaded.bytes, size).catch((error: Error) => {
      throw new FalError(`fal's output image cannot be decoded: ${error.message}`, { transient: false });
    });
    const label =
      model.kind === 'inpaint' ? await decodeMask(await files.read(job.blueprint_id, region.mask_key)) : differenceLabel(original, generated, productForeground(original));
    const bbox = maskBox(label);
    if (!bbox) {
      throw new FalError('The model changed nothing visible inside the product, so there is no defect to label', {
        transient: false,
        hint: 'Regenerate with another seed, or make the prompt more explicit about the defect',
      });
    }
    const keys = generationKeys(job.id);
    await files.write(job.blueprint_id, keys.image, await writePng(generated));
    await files.write(job.blueprint_id, keys.mask, await encodeMask(label));
    const seed = (output as { seed?: unknown }).seed;
    return {
      changes: {
        image_key: keys.image,
        mask_key: keys.mask,
        bbox: JSON.stringify(bbox),
        area: maskArea(label),
        result: JSON.stringify({
          width: size.width,
          height: size.height,
          outputWidth: image.width ?? null,
          outputHeight: image.height ?? null,
          outputSeed: typeof seed === 'number' || typeof seed === 'string' ? seed : null,
          contentType: downloaded.contentType,
        }),
      },
    };
  }

  #photoUrl(blueprintId: string, object: { id: string; blob_key: string; content_type: string; sha256: string }): Promise<string> {
    const cached = this.#uploads.get(object.sha256);
    if (cached && Date.now() - cached.at < UPLOAD_REUSE_MS) return cached.url;
    const extension = object.content_type.split('/')[1] ?? 'bin';
    const url = this.#deps.files.read(blueprintId, object.blob_key).then((photo) => this.#deps.gateway.upload(photo, object.content_type, `${object.id}.${extension}`));
    this.#uploads.set(object.sha256, { url, at: Date.now() });
    // A failed upload is not kept: the next job tries again.
    url.catch(() => {
      if (this.#uploads.get(object.sha256)?.url === url) this.#uploads.delete(object.sha256);
    });
    for (const [key, entry] of this.#uploads) if (Date.now() - entry.at >= UPLOAD_REUSE_MS) this.#uploads.delete(key);
    return url;
  }

  async #parts(job: BlueprintJobRow) {
    const [objects, regions, prompt] = await Promise.all([
      this.#deps.design.objects(job.blueprint_id),
      this.#deps.design.regions(job.blueprint_id),
      job.prompt_id ? this.#deps.prompts.find(job.blueprint_id, job.prompt_id) : undefined,
    ]);
    const object = objects.find((o) => o.id === job.object_id);
    const region = regions.find((r) => r.id === job.region_id);
    const model = IMAGE_MODELS[job.endpoint];
    if (!object || !region || !prompt) throw new FalError('The photo, region or prompt of this generation was removed', { transient: false });
    if (!model) throw new FalError(`"${job.endpoint}" is not an image model Recon knows`, { transient: false });
    return { object, region, prompt, model };
  }
}
