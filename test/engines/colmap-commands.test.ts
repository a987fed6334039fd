import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPipeline, chooseMatcher, type ColmapLayout, modelConverterArgs } from '../../src/engines/colmap/commands.ts';
import { colmapSettings } from '../../src/engines/colmap/settings.ts';

const layout: ColmapLayout = {
  databasePath: '/w/database.db',
  imagePath: '/runs/r1/images',
  imageListPath: '/w/image-list.txt',
  sparsePath: '/w/sparse',
};

/** The value following `option` in an argument array. */
function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index < 0 ? undefined : args[index + 1];
}

describe('COLMAP settings', () => {
  it('fills every key with its default', () => {
    const settings = colmapSettings.parse({});
    assert.deepEqual(settings, {
      confThreshold: 50,
      predictionMode: 'depth',
      maskBlackBg: false,
      maskWhiteBg: false,
      maskSky: false,
      showCameras: true,
      videoFrames: 60,
      videoMaxWidth: 1920,
      maxImageSize: 1600,
      matcher: 'auto',
      exhaustiveMaxImages: 50,
      cameraModel: 'SIMPLE_RADIAL',
      singleCamera: false,
      numThreads: -1,
      timeoutSeconds: 3600,
    });
  });

  it('rejects values COLMAP cannot use', () => {
    assert.equal(colmapSettings.safeParse({ matcher: 'vocab_tree' }).success, false);
    assert.equal(colmapSettings.safeParse({ maxImageSize: 20 }).success, false);
    assert.equal(colmapSettings.safeParse({ cameraModel: 'PERSPECTIVE' }).success, false);
    assert.equal(colmapSettings.safeParse({ timeoutSeconds: 0 }).success, false);
  });

  it('describes every COLMAP key for the settings form', () => {
    for (const [key, schema] of Object.entries(colmapSettings.shape)) assert.ok(schema.description, `${key} has no description`);
  });
});

describe('COLMAP matcher choice', () => {
  const auto = colmapSettings.parse({});
  it('matches exhaustively up to exhaustiveMaxImages, sequentially above', () => {
    assert.equal(chooseMatcher(auto, 2), 'exhaustive');
    assert.equal(chooseMatcher(auto, 50), 'exhaustive');
    assert.equal(chooseMatcher(auto, 51), 'sequential');
    assert.equal(chooseMatcher({ ...auto, exhaustiveMaxImages: 10 }, 11), 'sequential');
  });

  it('keeps an explicit choice whatever the image count', () => {
    assert.equal(chooseMatcher({ ...auto, matcher: 'exhaustive' }, 400), 'exhaustive');
    assert.equal(chooseMatcher({ ...auto, matcher: 'sequential' }, 3), 'sequential');
  });
});

describe('COLMAP commands', () => {
  it('builds the three steps with CPU-only options', () => {
    const settings = colmapSettings.parse({ maxImageSize: 1000, cameraModel: 'OPENCV', singleCamera: true, numThreads: 2 });
    const [extract, match, map] = buildPipeline(settings, layout, 12);
    assert.deepEqual(
      [extract?.stage, match?.stage, map?.stage],
      ['extracting', 'matching', 'mapping'],
    );
    assert.deepEqual(extract?.args, [
      'feature_extractor',
      '--database_path', '/w/database.db',
      '--image_path', '/runs/r1/images',
      '--image_list_path', '/w/image-list.txt',
      '--ImageReader.camera_model', 'OPENCV',
      '--ImageReader.single_camera', '1',
      '--SiftExtraction.use_gpu', '0',
      '--SiftExtraction.max_image_size', '1000',
      '--SiftExtraction.num_threads', '2',
    ]);
    assert.equal(match?.command, 'exhaustive_matcher');
    assert.equal(option(match!.args, '--SiftMatching.use_gpu'), '0');
    assert.equal(option(match!.args, '--database_path'), '/w/database.db');
    assert.equal(map?.command, 'mapper');
    assert.equal(option(map!.args, '--output_path'), '/w/sparse');
    assert.equal(option(map!.args, '--Mapper.num_threads'), '2');
  });

  it('turns loop detection off for sequential matching (no vocabulary tree offline)', () => {
    const [, match] = buildPipeline(colmapSettings.parse({}), layout, 120);
    assert.equal(match?.command, 'sequential_matcher');
    assert.equal(option(match!.args, '--SequentialMatching.loop_detection'), '0');
    assert.equal(option(match!.args, '--SiftMatching.use_gpu'), '0');
  });

  it('converts a model to text', () => {
    assert.deepEqual(modelConverterArgs('/w/sparse/0', '/w/out', 'TXT'), ['model_converter', '--input_path', '/w/sparse/0', '--output_path', '/w/out', '--output_type', 'TXT']);
  });
});
