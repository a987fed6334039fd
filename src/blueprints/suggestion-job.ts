import type { BlueprintJobRow } from '../db/blueprint-tables.ts';
import type { BlueprintsRepository } from '../db/blueprints-repository.ts';
import { FalError } from '../engines/fal/fal-error.ts';
import type { FalGateway } from '../engines/fal/fal-gateway.ts';
import type { BlueprintFiles } from './blueprint-files.ts';
import type { FalJobKind, FinishedJob } from './fal-job-kind.ts';
import { parseSuggestion, SUGGESTION_SYSTEM_PROMPT, suggestionPrompt } from './prompt-texts.ts';

export interface SuggestionJobDeps {
  design: Pick<BlueprintsRepository, 'objects' | 'defects' | 'find' | 'update'>;
  files: BlueprintFiles;
  gateway: Pick<FalGateway, 'upload'>;
  /** The model the vision endpoint should route to, when it takes one. */
  model: string | undefined;
}

/**
 * Asks a vision-language endpoint what the product is and which defects it is prone to, with
 * rationales. The answer is kept as the job's result (the user adds what they like as
 * `suggested` defects); an unnamed product type is filled in from it.
 */
export class SuggestionJob implements FalJobKind {
  readonly #deps: SuggestionJobDeps;

  constructor(deps: SuggestionJobDeps) {
    this.#deps = deps;
  }

  async prepare(job: BlueprintJobRow): Promise<Record<string, unknown>> {
    const { design, files, gateway, model } = this.#deps;
    const [objects, defects] = await Promise.all([design.objects(job.blueprint_id), design.defects(job.blueprint_id)]);
    const object = objects.find((o) => o.id === job.object_id) ?? objects[0];
    if (!object) throw new FalError('The blueprint has no photo to look at', { transient: false, hint: 'Upload a product photo first' });
    const imageUrl = await gateway.upload(await files.read(job.blueprint_id, object.blob_key), object.content_type, `${object.id}.${object.content_type.split('/')[1]}`);
    return {
      prompt: suggestionPrompt(defects.map((d) => d.name)),
      system_prompt: SUGGESTION_SYSTEM_PROMPT,
      image_urls: [imageUrl],
      ...(model && { model }),
    };
  }

  async finish(job: BlueprintJobRow, output: unknown): Promise<FinishedJob> {
    const text = (output as { output?: unknown })?.output;
    if (typeof text !== 'string') throw new FalError('The vision model answered without text', { transient: false });
    let suggestion: ReturnType<typeof parseSuggestion>;
    try {
      suggestion = parseSuggestion(text);
    } catch (error) {
      throw new FalError(`The vision model's answer could not be read: ${(error as Error).message}`, { transient: false, hint: 'Ask again; models sometimes answer off-format' });
    }
    return {
      changes: { result: JSON.stringify(suggestion) },
      commit: async (trx) => {
        const blueprint = await this.#deps.design.find(job.blueprint_id, trx);
        if (blueprint && !blueprint.product_type && suggestion.productType) await this.#deps.design.update(job.blueprint_id, { product_type: suggestion.productType }, trx);
      },
    };
  }
}
