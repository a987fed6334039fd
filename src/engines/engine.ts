import type { ZodType } from 'zod';
import type { ArtifactKind } from '../domain/artifacts.ts';
import type { StageSummary } from '../domain/run-stage.ts';

/**
 * Stages an engine reports through `progress`. `uploading` and `fetching` also move the run's
 * status (the seed's statuses); every other stage is part of `processing`.
 */
export type EngineStage = 'uploading' | 'fetching' | (string & {});

/** Numbers an engine reports with its progress (iteration, loss, …); kept as the stage's latest. */
export type ProgressDetails = Record<string, number | string>;

/** State that outlives one attempt: a worker killed mid-stage resumes from the last save. */
export interface StageCheckpoint {
  /** The last saved checkpoint, copied to a local file, or undefined when none was saved. */
  load(): Promise<string | undefined>;
  /** Stores `file` (consumed) as the stage's checkpoint, replacing the previous one. */
  save(file: string): Promise<void>;
}

export interface EngineContext<S> {
  runId: string;
  /** 1 for the first try; higher when a transient failure is being retried. */
  attempt: number;
  /** Absolute paths of the run's images, in sorted filename order. */
  inputs: string[];
  settings: S;
  /** A scratch folder private to this attempt; removed after the run. */
  workDir: string;
  signal: AbortSignal;
  /** Local copies of the run's artifacts this engine `consumes`; kinds the run lacks are absent. */
  artifacts: Partial<Record<ArtifactKind, string>>;
  checkpoint: StageCheckpoint;
  progress(stage: EngineStage, fraction: number, message?: string, details?: ProgressDetails): void;
  log(line: string): void;
  /** Records a small JSON summary of what the engine made (metrics, counts), shown in the run view. */
  summarize(summary: StageSummary): Promise<void>;
  /** Moves `file` into the run's storage as the artifact `kind` (atomically). */
  putArtifact(kind: ArtifactKind, file: string): Promise<void>;
  /** Records that an artifact could not be produced, and why; the run still completes. */
  markUnavailable(kind: ArtifactKind, reason: string): Promise<void>;
}

export interface EngineCheck {
  ok: boolean;
  reason?: string;
}

export interface Engine<S = unknown> {
  id: string;
  title: string;
  description: string;
  settings: ZodType<S>;
  limits: { minImages: number; maxImages: number };
  produces: ArtifactKind[];
  /**
   * Artifacts of a pipeline's earlier stages that this engine reads. An engine that consumes
   * anything runs only as a stage of a pipeline, never as a run of its own.
   */
  consumes?: ArtifactKind[];
  /** Runs at once per process, when the engine needs fewer than the configured default (one GPU: 1). */
  concurrency?: number;
  check(): Promise<EngineCheck>;
  run(ctx: EngineContext<S>): Promise<void>;
  /** Releases what the engine keeps between runs (a warm model process); called at shutdown. */
  close?(): Promise<void>;
}

/**
 * An engine failure with a message meant for the user. `transient` failures (a busy service, a
 * reset connection) are retried with backoff; the rest fail the run at once.
 */
export class EngineError extends Error {
  readonly transient: boolean;
  readonly hint: string | undefined;
  /** For transient failures: how long the service asked us to wait, if it said. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    options: { transient?: boolean; hint?: string; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'EngineError';
    this.transient = options.transient ?? false;
    this.hint = options.hint;
    this.retryAfterMs = options.retryAfterMs;
  }
}
