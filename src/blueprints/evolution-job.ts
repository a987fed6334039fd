import { newPartId } from '../domain/blueprint-model.ts';
import type { BlueprintJobsRepository } from '../db/blueprint-jobs-repository.ts';
import type { BlueprintPromptsRepository } from '../db/blueprint-prompts-repository.ts';
import type { BlueprintJobRow } from '../db/blueprint-tables.ts';
import type { BlueprintsRepository } from '../db/blueprints-repository.ts';
import { FalError } from '../engines/fal/fal-error.ts';
import type { FalJobKind, FinishedJob } from './fal-job-kind.ts';
import { EVOLVE_SYSTEM_PROMPT, evolvePrompt, parseEvolved } from './prompt-texts.ts';

export interface EvolutionJobDeps {
  design: Pick<BlueprintsRepository, 'find' | 'defects'>;
  prompts: Pick<BlueprintPromptsRepository, 'find' | 'insert'>;
  jobs: Pick<BlueprintJobsRepository, 'ratings'>;
  model: string | undefined;
}

/**
 * GEPA-style reflective mutation of a prompt: the parent, its defect and every rating (with the
 * reviewers' feedback) of images made with it go to a language model, which reflects on them and
 * proposes improved prompts — stored as `evolved` children of the parent, with the reflection.
 */
export class EvolutionJob implements FalJobKind {
  readonly #deps: EvolutionJobDeps;

  constructor(deps: EvolutionJobDeps) {
    this.#deps = deps;
  }

  async prepare(job: BlueprintJobRow): Promise<Record<string, unknown>> {
    const { parent, defect, blueprint } = await this.#parts(job);
    const results = await this.#deps.jobs.ratings([parent.id]);
    return {
      prompt: evolvePrompt({ parent: parent.text, defect, productType: blueprint.product_type, results, count: this.#count(job) }),
      system_prompt: EVOLVE_SYSTEM_PROMPT,
      ...(this.#deps.model && { model: this.#deps.model }),
    };
  }

  async finish(job: BlueprintJobRow, output: unknown): Promise<FinishedJob> {
    const { parent } = await this.#parts(job);
    const text = (output as { output?: unknown })?.output;
    if (typeof text !== 'string') throw new FalError('The language model answered without text', { transient: false });
    let evolved: ReturnType<typeof parseEvolved>;
    try {
      evolved = parseEvolved(text, parent.text, this.#count(job));
    } catch (error) {
      throw new FalError(`The language model's answer could not be read: ${(error as Error).message}`, { transient: false, hint: 'Ask again; models sometimes answer off-format' });
    }
    const rows = evolved.prompts.map((promptText) => ({
      id: newPartId('pr'),
      blueprint_id: job.blueprint_id,
      defect_id: parent.defect_id,
      parent_id: parent.id,
      text: promptText,
      strategy: 'evolved' as const,
      note: evolved.reflection,
    }));
    return {
      changes: { result: JSON.stringify({ promptIds: rows.map((r) => r.id), reflection: evolved.reflection }) },
      commit: (trx) => this.#deps.prompts.insert(rows, trx),
    };
  }

  #count(job: BlueprintJobRow): number {
    const count = Number(job.params.count ?? 2);
    return Number.isInteger(count) && count >= 1 && count <= 4 ? count : 2;
  }

  async #parts(job: BlueprintJobRow) {
    const [blueprint, defects, parent] = await Promise.all([
      this.#deps.design.find(job.blueprint_id),
      this.#deps.design.defects(job.blueprint_id),
      job.prompt_id ? this.#deps.prompts.find(job.blueprint_id, job.prompt_id) : undefined,
    ]);
    const defect = defects.find((d) => d.id === parent?.defect_id);
    if (!blueprint || !parent || !defect) throw new FalError('The prompt to evolve was removed', { transient: false });
    return { blueprint, parent, defect };
  }
}
