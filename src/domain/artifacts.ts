import { z } from 'zod';

/** Artifact kinds a run can hold; each has one file name in the run's storage. */
export const ARTIFACT_FILES = {
  glb: 'scene.glb',
  predictions: 'predictions.npz',
  colmap: 'colmap.zip',
  ply: 'points.ply',
  preview: 'preview.jpg',
  /** Quantized + meshopt-compressed copy of scene.glb, made after the run when it is large. */
  'glb-compressed': 'scene.meshopt.glb',
  sog: 'scene.sog',
  /** Undistorted pinhole cameras, their images and the seed points (a COLMAP model): what splat training reads. */
  'splat-scene': 'splat-scene.zip',
  /** Trained 3D Gaussians as the standard 3DGS PLY, in the cameras' world frame. */
  'splat-ply': 'splat.ply',
  /** A training view rendered by the splats as they train (replaced every few hundred steps). */
  'splat-preview': 'splat-preview.png',
  spz: 'splat.spz',
  'splat-compressed-ply': 'splat.compressed.ply',
  /** A standalone HTML page that shows the splats (SuperSplat viewer). */
  'splat-viewer': 'splat-viewer.html',
  /** Held-out and training-view PSNR/SSIM of the splats and of each compressed copy, with counts and sizes. */
  metrics: 'metrics.json',
} as const;
export type ArtifactKind = keyof typeof ARTIFACT_FILES;
export const ARTIFACT_KINDS = Object.keys(ARTIFACT_FILES) as ArtifactKind[];

/** What a download of each kind is served as. */
export const ARTIFACT_CONTENT_TYPES: Record<ArtifactKind, string> = {
  glb: 'model/gltf-binary',
  predictions: 'application/octet-stream',
  colmap: 'application/zip',
  ply: 'application/octet-stream',
  preview: 'image/jpeg',
  'glb-compressed': 'model/gltf-binary',
  sog: 'application/octet-stream',
  'splat-scene': 'application/zip',
  'splat-ply': 'application/octet-stream',
  'splat-preview': 'image/png',
  spz: 'application/octet-stream',
  'splat-compressed-ply': 'application/octet-stream',
  'splat-viewer': 'text/html; charset=utf-8',
  metrics: 'application/json',
};

export const artifactType = z.enum(ARTIFACT_KINDS as [ArtifactKind, ...ArtifactKind[]]);

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

export interface ArtifactRecord {
  bytes: number;
  etag: string;
  updatedAt: string;
}

/** A run's artifacts as the database keeps them. */
export interface Artifacts {
  available: Record<string, ArtifactRecord>;
  unavailable: Record<string, string>;
  /** What scene.glb holds, measured after the run. */
  glbMetadata?: GlbMetadata;
}

/** Where a run's input image is stored, under the run's folder. */
export const imageKey = (imageName: string) => `images/${imageName}`;

/** Where a frame taken from an uploaded video is stored (frames are named after their video). */
export const frameKey = (frameName: string) => `frames/${frameName}`;

/** Where the thumbnail of a run's input image is stored (made while the run works). */
export const thumbnailKey = (imageName: string) => `thumbs/${imageName}.jpg`;

/** Where a stage keeps its last checkpoint (state that survives a killed worker), under the run's folder. */
export const checkpointKey = (position: number, stageName: string) => `checkpoints/${position}-${stageName}`;
