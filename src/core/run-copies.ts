import type { BlobStore } from '../blobs/blob-store.ts';
import type { RunEventsRepository } from '../db/run-events-repository.ts';
import type { RunStagesRepository } from '../db/run-stages-repository.ts';
import type { RunsRepository } from '../db/runs-repository.ts';
import type { RunRow, RunStageRow } from '../db/schema.ts';
import type { RunView } from '../contract/runs.ts';
import { ARTIFACT_FILES } from '../domain/artifacts.ts';
import { newRunId } from '../domain/ids.ts';
import { notAPipeline, runHasNoImages, sourceRunUnusable, stageOutputsMissing, stageSettingsChanged, unknownStage } from '../domain/problems.ts';
import { isStageDone } from '../domain/run-stage.ts';
import type { RunPlan, RunPlanner } from '../pipelines/run-planner.ts';
import { newRunRow } from './new-run-row.ts';
import type { CreateRunInput, RerunInput, RunsService } from './runs-service.ts';
import { mergeSettings, reusedArtifacts, sameSettings, stageRows } from './stage-reuse.ts';

/**
 * New runs made from an existing one: a rerun on its images (from any stage of a pipeline, the
 * earlier stages' outputs reused), or a pipeline started from a completed run's outputs. The
 * images, the reused artifacts, thumbnails and video frames are copied in the blob store, and the
 * new run is queued at once.
 */
export class RunCopies {
  readonly #runs: RunsRepository;
  readonly #stages: RunStagesRepository;
  readonly #events: RunEventsRepository;
  readonly #blobs: BlobStore;
  readonly #planner: RunPlanner;
  readonly #service: Pick<RunsService, 'findOwned' | 'validateSettings' | 'queueForWork' | 'afterChange' | 'assertQueueRoom'>;

  constructor(deps: {
    runs: RunsRepository;
    stages: RunStagesRepository;
    events: RunEventsRepository;
    blobs: BlobStore;
    planner: RunPlanner;
    service: Pick<RunsService, 'findOwned' | 'validateSettings' | 'queueForWork' | 'afterChange' | 'assertQueueRoom'>;
  }) {
    this.#runs = deps.runs;
    this.#stages = deps.stages;
    this.#events = deps.events;
    this.#blobs = deps.blobs;
    this.#planner = deps.planner;
    this.#service = deps.service;
  }

  /**
   * A pipeline run that starts from a completed run's outputs (its cameras and points) in place of
   * the first stage: the images and those outputs are copied, and the run is queued at once.
   */
  async fromRun(plan: RunPlan, sourceId: string, input: CreateRunInput): Promise<RunView> {
    if (!plan.pipeline || plan.stages.length < 2) throw notAPipeline(plan.id, 'fromRun');
    const source = await this.#service.findOwned(sourceId, input.owner);
    if (source.status !== 'completed') throw sourceRunUnusable(sourceId, `it is ${source.status}; start from a completed run`);
    const wanted = this.#planner.engine(plan.stages[1]!.engine).consumes ?? [];
    if (!wanted.some((kind) => source.artifacts.available[kind])) {
      throw sourceRunUnusable(sourceId, `it has none of ${wanted.map((k) => ARTIFACT_FILES[k]).join(', ')}, which stage "${plan.stages[1]!.name}" reads`);
    }
    // The source's first stage (a plain run's only one) stands for this pipeline's first stage.
    const [first] = await this.#stages.forRun(sourceId);
    if (!first) throw sourceRunUnusable(sourceId, 'it has no stages');
    return this.#startCopy(source, plan, input.owner ?? null, {
      from: 1,
      sourceStages: [{ ...first, reused_from: sourceId }],
      engines: [first.engine],
      webhookUrl: input.webhookUrl ?? null,
      message: `started from ${sourceId}`,
    });
  }

  /**
   * A new run on the same images with changed settings, queued at once. With `fromStage`, the
   * parent's outputs of the earlier stages are reused and only that stage and the later ones run.
   */
  async rerun(id: string, input: RerunInput, owner?: string | null): Promise<RunView> {
    const parent = await this.#service.findOwned(id, owner);
    await this.#service.assertQueueRoom(owner ?? null);
    const sameEngine = !input.engine || input.engine === parent.engine;
    const pipeline = this.#planner.pipeline(parent.engine);
    if (input.fromStage && (!pipeline || !sameEngine)) throw notAPipeline(input.engine ?? parent.engine, 'fromStage');
    const merged = !sameEngine ? input.settings : pipeline ? mergeSettings(parent.settings, input.settings) : { ...parent.settings, ...input.settings };
    const { plan } = this.#service.validateSettings(input.engine ?? parent.engine, merged);
    if (!input.fromStage) {
      return this.#startCopy(parent, plan, parent.owner, { from: 0, sourceStages: [], engines: [], webhookUrl: parent.webhook_url, message: `rerun of ${id}` });
    }
    const parentStages = await this.#stages.forRun(id);
    const from = plan.stages.findIndex((stage) => stage.name === input.fromStage);
    if (from < 0) throw unknownStage(id, input.fromStage, plan.stages.map((s) => s.name));
    for (let position = 0; position < from; position++) {
      const before = parentStages[position];
      const planned = plan.stages[position]!;
      if (!before || !isStageDone(before.status)) throw stageOutputsMissing(id, input.fromStage, planned.name);
      if (before.status === 'completed' && (before.engine !== planned.engine || !sameSettings(before.settings, planned.settings))) {
        throw stageSettingsChanged(planned.name, input.fromStage);
      }
    }
    const engines = parentStages.slice(0, from).map((stage) => stage.engine);
    return this.#startCopy(parent, plan, parent.owner, { from, sourceStages: parentStages, engines, webhookUrl: parent.webhook_url, message: `rerun of ${id} from stage "${input.fromStage}"` });
  }

  /**
   * A new queued run on `source`'s images; the stages before `from` reuse `sourceStages`, and the
   * artifacts those stages' `engines` produce are copied with the images (and their thumbnails).
   */
  async #startCopy(
    source: RunRow,
    plan: RunPlan,
    owner: string | null,
    copy: { from: number; sourceStages: RunStageRow[]; engines: string[]; webhookUrl: string | null; message: string },
  ): Promise<RunView> {
    const images = await this.#runs.images(source.id);
    if (!images.length) throw runHasNoImages(source.id, 'rerun');
    const childId = newRunId();
    const produced = copy.engines.map((engine) => (this.#planner.knows(engine) ? this.#planner.engine(engine).produces : []));
    const artifacts = copy.from > 0 ? reusedArtifacts(Object.keys(source.artifacts.available), [...produced, ['preview']]) : [];
    const keys = [
      ...images.map((image) => `images/${image.name}`),
      // Reused stages worked on these thumbnails and video frames: the new run keeps them.
      ...(copy.from > 0 ? await this.#blobs.list(source.id, 'thumbs') : []),
      ...(copy.from > 0 ? await this.#blobs.list(source.id, 'frames') : []),
      ...artifacts.map((kind) => ARTIFACT_FILES[kind]),
    ];
    await Promise.all(keys.map((key) => this.#blobs.copy(source.id, childId, key)));
    try {
      await this.#runs.transaction(async (trx) => {
        const available = Object.fromEntries(artifacts.map((kind) => [kind, source.artifacts.available[kind]!]));
        const row = newRunRow(childId, plan, { owner, webhookUrl: copy.webhookUrl ?? undefined }, { status: 'uploading', parentRunId: source.id });
        await this.#runs.insert({ ...row, artifacts: JSON.stringify({ available, unavailable: {}, ...(artifacts.includes('glb') && source.artifacts.glbMetadata && { glbMetadata: source.artifacts.glbMetadata }) }) }, trx);
        await this.#stages.insert(stageRows(childId, plan.stages, copy.from, { runId: source.id, stages: copy.sourceStages }), trx);
        await this.#runs.addImages(childId, images, trx);
        await this.#events.append(childId, 'status', { status: 'uploading', parentRunId: source.id }, trx);
        const child = await this.#runs.findForUpdate(childId, trx);
        if (!child) throw new Error('rerun: new run vanished');
        await this.#service.queueForWork(child, trx, { message: copy.message });
      });
    } catch (error) {
      await this.#blobs.deleteRun(childId);
      throw error;
    }
    return this.#service.afterChange(childId);
  }
}
