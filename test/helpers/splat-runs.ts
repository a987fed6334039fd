/** Splat pipeline settings small enough for seconds per stage on two cores, with enough views for COLMAP and one held out. */
export const QUICK_SPLAT_SETTINGS = {
  sfm: { maxImageSize: 320, videoFrames: 2 },
  scene: { maxImageSize: 320 },
  train: { preset: 'quick', iterations: 150, width: 96, checkpointEvery: 50, previewEvery: 50, progressEvery: 10 },
};
