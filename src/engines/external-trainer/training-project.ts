import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readColmapModel, writeColmapModelBinary } from '../../formats/colmap-model.ts';
import { unzipToFolder } from '../../formats/unzip-folder.ts';
import { splitViews } from '../../splat/view.ts';
import { SCENE_IMAGES, SCENE_MODEL } from '../splat-scene/index.ts';

export interface TrainingProject {
  /** The folder a COLMAP-reading trainer takes: `images/` and the model in `sparse/0/`. */
  root: string;
  modelDir: string;
  imagesDir: string;
  train: string[];
  heldOut: string[];
  points: number;
}

/**
 * A COLMAP project for an external trainer from splat-scene.zip, with the held-out views removed
 * from the model (every `holdoutEvery`-th by name, as evaluation scores them), so no trainer can
 * train on them whatever its own split convention.
 */
export async function trainingProject(sceneZip: string, root: string, holdoutEvery: number): Promise<TrainingProject> {
  await rm(root, { recursive: true, force: true });
  const scene = join(root, 'scene');
  await unzipToFolder(sceneZip, scene);
  const model = await readColmapModel(join(scene, SCENE_MODEL));
  const { train, test } = splitViews([...model.images.values()], holdoutEvery);
  for (const image of test) model.images.delete(image.id);
  // Points keep only observations in the images that stay, so the model is consistent for any reader.
  for (const point of model.points3D.values()) point.track = point.track.filter((t) => model.images.has(t.imageId));
  const modelDir = join(root, 'sparse', '0');
  await mkdir(modelDir, { recursive: true });
  await writeColmapModelBinary(modelDir, model);
  const imagesDir = join(root, 'images');
  await rename(join(scene, SCENE_IMAGES), imagesDir);
  return { root, modelDir, imagesDir, train: train.map((i) => i.name), heldOut: test.map((i) => i.name), points: model.points3D.size };
}
