import { basename } from 'node:path';
import { z } from 'zod';
import { baseSettings } from '../../domain/base-settings.ts';
import { EngineError } from '../engine.ts';

export const vggtSpaceSettings = baseSettings.extend({
  frameFilter: z
    .union([z.literal('All'), z.number().int().min(0), z.string().min(1)])
    .default('All')
    .describe('Show points from every frame ("All"), or from one frame: its index in sorted filename order, or its file name'),
});
export type VggtSpaceSettings = z.infer<typeof vggtSpaceSettings>;

export const PREDICTION_MODES = {
  pointmap: 'Pointmap Branch',
  depth: 'Depthmap and Camera Branch',
} as const;

/**
 * The Space's frame dropdown lists "All" and then "<index>: <file name>" for its copies of the
 * images, which it sorts by name — the same order as the run's inputs.
 */
export function frameFilterChoice(filter: VggtSpaceSettings['frameFilter'], inputs: string[]): string {
  if (filter === 'All') return 'All';
  const names = inputs.map((input) => basename(input));
  const index = typeof filter === 'number' ? filter : names.indexOf(filter);
  if (index < 0 || index >= names.length) {
    throw new EngineError(`frameFilter ${JSON.stringify(filter)} is not one of the run's ${names.length} images`, {
      hint: 'Use "All", a frame index from 0, or one of the uploaded file names',
    });
  }
  return `${index}: ${names[index]}`;
}

/** The `/gradio_demo` inputs, in the Space's order. */
export function gradioDemoInputs(targetDir: string, settings: VggtSpaceSettings, inputs: string[]): unknown[] {
  return [
    targetDir,
    settings.confThreshold,
    frameFilterChoice(settings.frameFilter, inputs),
    settings.maskBlackBg,
    settings.maskWhiteBg,
    settings.showCameras,
    settings.maskSky,
    PREDICTION_MODES[settings.predictionMode],
  ];
}
