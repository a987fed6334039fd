import { z } from 'zod';
import { ARTIFACT_KINDS } from '../engines/engine.ts';

/** The seed's statuses, plus `canceled`. */
export const RUN_STATUSES = ['queued', 'uploading', 'processing', 'fetching', 'completed', 'failed', 'canceled'] as const;
export const runStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof runStatus>;

export const TERMINAL_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'canceled'];
export const isTerminal = (status: RunStatus) => TERMINAL_STATUSES.includes(status);

/** Statuses in which a worker owns the run. */
export const ACTIVE_STATUSES: readonly RunStatus[] = ['processing', 'fetching'];

export const artifactType = z.enum(ARTIFACT_KINDS as [string, ...string[]]);

export const glbMetadata = z
  .object({
    nodes: z.number().int(),
    meshes: z.number().int(),
    primitives: z.number().int(),
    points: z.number().int().describe('Vertices of POINTS primitives'),
    vertices: z.number().int().describe('Vertices of all primitives'),
    materials: z.number().int(),
    bounds: z.object({ min: z.array(z.number()), max: z.array(z.number()) }).nullable(),
    bytes: z.number().int(),
  })
  .describe("What the run's scene.glb holds");
export type GlbMetadata = z.infer<typeof glbMetadata>;

export const runView = z
  .object({
    runId: z.string(),
    status: runStatus,
    engine: z.string(),
    stage: z.string().nullable().describe('What the run is doing now: waiting, extracting, matching, …'),
    progress: z.number().min(0).max(1),
    message: z.string().nullable(),
    queuePosition: z.number().int().nullable().describe('1-based place in its engine queue while waiting'),
    settings: z.record(z.string(), z.unknown()),
    images: z.array(z.string()),
    requestedAt: z.string(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    error: z.string().optional(),
    errorHint: z.string().optional(),
    attempt: z.number().int(),
    parentRunId: z.string().optional(),
    webhookUrl: z.string().optional(),
    artifacts: z.record(z.string(), z.string()).describe('Artifact URLs by type'),
    unavailableArtifacts: z.record(z.string(), z.string()).optional().describe('Why an artifact is missing'),
    glbMetadata: glbMetadata.optional(),
  })
  .describe('A run, in the seed client shape (VGGTRun) plus engine, stage, progress and queuePosition');
export type RunView = z.infer<typeof runView>;

export const runEventType = z.enum(['status', 'progress', 'log', 'retry']);
export type RunEventType = z.infer<typeof runEventType>;

export interface RunEvent {
  id: number;
  runId: string;
  at: string;
  type: RunEventType;
  data: Record<string, unknown>;
}

export interface ArtifactRecord {
  bytes: number;
  etag: string;
  updatedAt: string;
}
export interface Artifacts {
  available: Record<string, ArtifactRecord>;
  unavailable: Record<string, string>;
  /** What scene.glb holds, measured after the run. */
  glbMetadata?: GlbMetadata;
}
