import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlobStore } from '../blobs/blob-store.ts';
import { ARTIFACT_FILES } from '../domain/artifacts.ts';
import { from3x4, invertRigid4, type Mat4, multiply4 } from '../formats/geometry.ts';
import { sceneAlignment } from '../formats/glb-scene.ts';
import type { NdArray } from '../formats/npy.ts';
import { type NpzFile, readNpz } from '../formats/npz.ts';
import { predictionsHaveNoCameras, predictionsNotFound, predictionsUnreadable } from '../domain/problems.ts';
import type { RunsService } from './runs-service.ts';

/** OpenCV camera axes (x right, y down, z forward) to three.js's (y up, looking down −z). */
const CV_TO_GL: Mat4 = [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1];

const numbers = (array: NdArray) => Array.from(array.data as ArrayLike<number>, Number);
const chunk = (values: number[], size: number) =>
  Array.from({ length: values.length / size }, (_, i) => values.slice(i * size, (i + 1) * size));
const shapeOf = (npz: NpzFile, key: string) => npz.members.find((m) => m.name === key)?.shape;

/** Reads a run's predictions.npz for the cameras and metadata endpoints. */
export class PredictionsService {
  readonly #runs: RunsService;
  readonly #blobs: BlobStore;

  constructor(runs: RunsService, blobs: BlobStore) {
    this.#runs = runs;
    this.#blobs = blobs;
  }

  private async open(runId: string, owner: string | null | undefined): Promise<NpzFile> {
    const run = await this.#runs.findOwned(runId, owner);
    if (!run.artifacts.available.predictions) {
      const reason = run.artifacts.unavailable.predictions;
      throw predictionsNotFound(runId, { reason, status: run.status });
    }
    // A remote store downloads the file into a folder of this request's own, removed on close.
    const scratch = await mkdtemp(join(tmpdir(), 'recon-npz-'));
    const removeScratch = () => rm(scratch, { recursive: true, force: true });
    try {
      const path = await this.#blobs.localPath(runId, ARTIFACT_FILES.predictions, scratch);
      const npz = await readNpz(path).catch((error: Error) => {
        throw predictionsUnreadable(runId, error.message);
      });
      const close = npz.close;
      return Object.assign(npz, { close: () => close().finally(removeScratch) });
    } catch (error) {
      await removeScratch();
      throw error;
    }
  }

  async metadata(runId: string, owner?: string | null) {
    const npz = await this.open(runId, owner);
    try {
      const frames = shapeOf(npz, 'extrinsic')?.[0] ?? 0;
      const worldPoints = shapeOf(npz, 'world_points');
      const points = shapeOf(npz, 'points');
      return {
        numCameras: frames,
        imageShape: imageShape(npz),
        totalPoints: worldPoints ? worldPoints.slice(0, -1).reduce((a, b) => a * b, 1) : (points?.[0] ?? 0),
        keys: npz.keys,
      };
    } finally {
      await npz.close();
    }
  }

  async cameras(runId: string, owner?: string | null) {
    const npz = await this.open(runId, owner);
    try {
      if (!npz.has('extrinsic')) throw predictionsHaveNoCameras(runId);
      const extrinsics = chunk(numbers(npz.get('extrinsic')), 12);
      const intrinsics = npz.has('intrinsic') ? chunk(numbers(npz.get('intrinsic')), 9) : [];
      const names = npz.has('image_names') ? (npz.get('image_names').data as string[]) : [];
      const alignment = sceneAlignment(extrinsics[0] && from3x4(extrinsics[0]));
      const shapeOfImages = imageShape(npz);
      const depthShape = shapeOf(npz, 'depth');
      const worldPointsShape = shapeOf(npz, 'world_points');
      return {
        numFrames: extrinsics.length,
        cameras: extrinsics.map((extrinsic, index) => {
          const cameraToWorld = invertRigid4(from3x4(extrinsic));
          // In scene.glb's frame, so a viewer can fly to the camera inside the loaded scene.
          const world = multiply4(multiply4(alignment, cameraToWorld), CV_TO_GL);
          return {
            index,
            ...(names[index] !== undefined && { imageName: names[index] }),
            extrinsic: chunk(extrinsic, 4),
            ...(intrinsics[index] && { intrinsic: chunk(intrinsics[index], 3) }),
            position: [cameraToWorld[3]!, cameraToWorld[7]!, cameraToWorld[11]!],
            threeMatrix: [0, 1, 2, 3].flatMap((col) => [0, 1, 2, 3].map((row) => world[row * 4 + col]!)),
          };
        }),
        hasDepth: npz.has('depth'),
        hasWorldPoints: npz.has('world_points'),
        ...(shapeOfImages && { imageShape: shapeOfImages }),
        ...(depthShape && { depthShape }),
        ...(worldPointsShape && { worldPointsShape }),
      };
    } finally {
      await npz.close();
    }
  }
}

/** [H, W] from whichever per-pixel array the engine wrote. */
function imageShape(npz: NpzFile): [number, number] | null {
  const images = shapeOf(npz, 'images');
  if (images?.length === 4) return [images[2]!, images[3]!];
  const depth = shapeOf(npz, 'depth') ?? shapeOf(npz, 'world_points');
  if (depth && depth.length >= 3) return [depth[1]!, depth[2]!];
  return null;
}
