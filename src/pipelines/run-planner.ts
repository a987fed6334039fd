import type { ZodType } from 'zod';
import { engineIsAStage, invalidSettings, unknownEngine } from '../domain/problems.ts';
import type { Engine } from '../engines/engine.ts';
import type { EngineRegistry } from '../engines/registry.ts';
import type { Pipeline, StagePlan } from './pipeline.ts';

export interface RunPlan {
  /** The run's `engine`: a pipeline id, or the engine id of a single-stage run. */
  id: string;
  pipeline: boolean;
  /** The run's settings as validated (defaults filled). */
  settings: Record<string, unknown>;
  /** Each stage with its settings validated by the stage's engine. */
  stages: StagePlan[];
  limits: { minImages: number; maxImages: number };
}

type Issue = { path: string; message: string };
const issuesOf = (error: { issues: { path: PropertyKey[]; message: string }[] }, prefix = ''): Issue[] =>
  error.issues.map((i) => ({ path: [prefix, ...i.path.map(String)].filter(Boolean).join('.'), message: i.message }));

/**
 * Turns what a client asks for (an engine or pipeline id and settings) into the run's stages: one
 * for an engine, several for a pipeline. Every stage's settings are checked by its engine before
 * anything is stored.
 */
export class RunPlanner {
  readonly #engines: EngineRegistry;
  readonly #pipelines: Map<string, Pipeline>;

  constructor(deps: { engines: EngineRegistry; pipelines: readonly Pipeline[] }) {
    this.#engines = deps.engines;
    this.#pipelines = new Map(deps.pipelines.map((p) => [p.id, p]));
  }

  get pipelines(): Pipeline[] {
    return [...this.#pipelines.values()];
  }

  pipeline(id: string): Pipeline | undefined {
    return this.#pipelines.get(id);
  }

  plan(id: string | undefined, settings: Record<string, unknown> | undefined): RunPlan {
    const pipeline = id === undefined ? undefined : this.#pipelines.get(id);
    if (pipeline) return this.#planPipeline(pipeline, settings ?? {});
    const engine = this.#engine(id);
    if (engine.consumes?.length) throw engineIsAStage(engine.id, [...this.#pipelines.keys()]);
    const validated = this.#validate(engine, settings ?? {}, engine.id);
    return { id: engine.id, pipeline: false, settings: validated, stages: [{ name: engine.id, engine: engine.id, settings: validated }], limits: engine.limits };
  }

  /** The image limits of a run's engine or pipeline. */
  limits(id: string): { minImages: number; maxImages: number } {
    return (this.#pipelines.get(id) ?? this.#engine(id)).limits;
  }

  /** Whether this process offers the engine (a stage's engine may live only on other workers). */
  knows(engineId: string): boolean {
    return this.#engines.has(engineId);
  }

  /** The engine a stage runs, or why it cannot run here. */
  engine(id: string): Engine {
    return this.#engine(id);
  }

  #planPipeline(pipeline: Pipeline, input: Record<string, unknown>): RunPlan {
    const parsed = pipeline.settings.safeParse(input);
    if (!parsed.success) throw invalidSettings(pipeline.id, issuesOf(parsed.error));
    const stages = pipeline.stages(parsed.data).map((stage) => {
      const engine = this.#engines.has(stage.engine) ? this.#engines.get(stage.engine) : undefined;
      if (!engine) throw invalidSettings(pipeline.id, [{ path: `${stage.name}.engine`, message: `engine "${stage.engine}" is not offered here` }]);
      return { ...stage, settings: this.#validate(engine, stage.settings, pipeline.id, stage.name) };
    });
    return { id: pipeline.id, pipeline: true, settings: parsed.data, stages, limits: pipeline.limits };
  }

  #validate(engine: Engine, settings: Record<string, unknown>, reportAs: string, prefix?: string): Record<string, unknown> {
    const parsed = (engine.settings as ZodType).safeParse(settings);
    if (!parsed.success) throw invalidSettings(reportAs, issuesOf(parsed.error, prefix));
    return parsed.data as Record<string, unknown>;
  }

  #engine(id: string | undefined): Engine {
    if (id !== undefined && !this.#engines.has(id)) {
      throw unknownEngine(id, [...this.#pipelines.keys(), ...this.#engines.list().map((e) => e.id)]);
    }
    return this.#engines.get(id);
  }
}
