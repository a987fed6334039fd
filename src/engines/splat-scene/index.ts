import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { zipFolder } from '../../formats/zip.ts';
import { createColmapEngine } from '../colmap/index.ts';
import { type Engine, EngineError } from '../engine.ts';
import { type SplatSceneSettings, splatSceneSettings } from './settings.ts';
import { undistortColmapModel } from './undistort.ts';

export { SCENE_IMAGES, SCENE_MODEL, splatSceneSettings } from './settings.ts';

/**
 * The scene a splat trainer reads, from what the first stage made: a COLMAP model is undistorted
 * by `colmap image_undistorter` (pinhole cameras, undistorted images, its sparse points); VGGT or
 * DA3 predictions give pinhole cameras, their images and dense points. Either way the cameras
 * keep the run's world frame. Writes splat-scene.zip (`images/`, `sparse/`).
 */
export function createSplatSceneEngine(options: { binary?: string } = {}): Engine<SplatSceneSettings> {
  const binary = () => options.binary ?? process.env.COLMAP_BIN ?? 'colmap';
  const colmap = createColmapEngine(options);
  return {
    id: 'splat-scene',
    title: 'Splat scene',
    description:
      'Prepares what splat training reads from the cameras and points of the first stage: COLMAP models are undistorted to pinhole cameras (colmap image_undistorter); VGGT/DA3 predictions give their images and dense points.',
    settings: splatSceneSettings,
    limits: { minImages: 1, maxImages: 10_000 },
    produces: ['splat-scene'],
    consumes: ['colmap', 'predictions'],
    // COLMAP is needed only for COLMAP models; predictions convert without it.
    check: () => colmap.check(),
    async run(ctx) {
      const out = join(ctx.workDir, 'scene');
      await rm(out, { recursive: true, force: true });
      const { colmap: model, predictions } = ctx.artifacts;
      const deadline = AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.settings.timeoutSeconds * 1000)]);
      if (model) {
        ctx.progress('undistorting', 0, 'Undistorting the COLMAP model to pinhole cameras');
        await undistortColmapModel(ctx, model, out, { binary: binary(), signal: deadline });
      } else if (predictions) {
        ctx.progress('converting', 0, 'Reading cameras, images and dense points from predictions.npz');
        const { sceneFromPredictions } = await import('./from-predictions.ts');
        const scene = await sceneFromPredictions(predictions, out, ctx.inputs, ctx.settings);
        ctx.log(`scene from predictions.npz: ${scene.frames} views at ${scene.width}×${scene.height}, ${scene.points} seed points`);
      } else {
        throw new EngineError('The first stage stored neither a COLMAP model (colmap.zip) nor predictions.npz', {
          hint: 'Use an sfm engine that estimates cameras: colmap, vggt-local or da3',
        });
      }
      ctx.signal.throwIfAborted();
      ctx.progress('packing', 0.9, 'Writing splat-scene.zip');
      const zip = join(ctx.workDir, 'splat-scene.zip');
      // JPEG/PNG images are compressed already; deflate would only cost time.
      await zipFolder(out, zip, { compress: false });
      await ctx.putArtifact('splat-scene', zip);
      ctx.progress('packing', 1, 'Stored splat-scene.zip');
    },
  };
}
