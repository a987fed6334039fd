import type { ColmapSettings } from './settings.ts';

/** Where one run keeps its COLMAP files. */
export interface ColmapLayout {
  databasePath: string;
  /** The folder the image names are relative to. */
  imagePath: string;
  /** A file listing the run's image names, one a line, so only they are read from imagePath. */
  imageListPath: string;
  /** The mapper writes one numbered sub-model folder per reconstruction here. */
  sparsePath: string;
}

export type ColmapStage = 'extracting' | 'matching' | 'mapping';
export type MatcherKind = 'exhaustive' | 'sequential';

export interface ColmapStep {
  stage: ColmapStage;
  /** The colmap sub-command, also the first argument. */
  command: string;
  args: string[];
}

type PipelineSettings = Pick<
  ColmapSettings,
  'maxImageSize' | 'matcher' | 'exhaustiveMaxImages' | 'cameraModel' | 'singleCamera' | 'numThreads'
>;

/** Exhaustive matching costs n² pairs; past the threshold, photos are assumed to be in capture order. */
export function chooseMatcher(settings: Pick<ColmapSettings, 'matcher' | 'exhaustiveMaxImages'>, imageCount: number): MatcherKind {
  if (settings.matcher !== 'auto') return settings.matcher;
  return imageCount <= settings.exhaustiveMaxImages ? 'exhaustive' : 'sequential';
}

export function featureExtractorArgs(settings: PipelineSettings, layout: ColmapLayout): string[] {
  return [
    'feature_extractor',
    '--database_path', layout.databasePath,
    '--image_path', layout.imagePath,
    '--image_list_path', layout.imageListPath,
    '--ImageReader.camera_model', settings.cameraModel,
    '--ImageReader.single_camera', flag(settings.singleCamera),
    '--SiftExtraction.use_gpu', '0',
    '--SiftExtraction.max_image_size', String(settings.maxImageSize),
    '--SiftExtraction.num_threads', String(settings.numThreads),
  ];
}

export function matcherArgs(settings: PipelineSettings, layout: ColmapLayout, imageCount: number): string[] {
  const common = ['--database_path', layout.databasePath, '--SiftMatching.use_gpu', '0', '--SiftMatching.num_threads', String(settings.numThreads)];
  if (chooseMatcher(settings, imageCount) === 'exhaustive') return ['exhaustive_matcher', ...common];
  // Loop detection needs a vocabulary tree file, which is not available offline.
  return ['sequential_matcher', ...common, '--SequentialMatching.loop_detection', '0'];
}

export function mapperArgs(settings: PipelineSettings, layout: ColmapLayout): string[] {
  return [
    'mapper',
    '--database_path', layout.databasePath,
    '--image_path', layout.imagePath,
    '--output_path', layout.sparsePath,
    '--Mapper.num_threads', String(settings.numThreads),
  ];
}

export function modelConverterArgs(inputPath: string, outputPath: string, outputType: 'TXT' | 'BIN'): string[] {
  return ['model_converter', '--input_path', inputPath, '--output_path', outputPath, '--output_type', outputType];
}

/** The three steps from images to sparse sub-models, in order. */
export function buildPipeline(settings: PipelineSettings, layout: ColmapLayout, imageCount: number): ColmapStep[] {
  return [
    step('extracting', featureExtractorArgs(settings, layout)),
    step('matching', matcherArgs(settings, layout, imageCount)),
    step('mapping', mapperArgs(settings, layout)),
  ];
}

function step(stage: ColmapStage, args: string[]): ColmapStep {
  return { stage, command: args[0]!, args };
}

const flag = (value: boolean): string => (value ? '1' : '0');
