import type { SplatSettings } from './settings.ts';

/** What a checkpoint carries besides the arrays (see checkpoint.ts). */
export interface TrainerState {
  step: number;
  count: number;
  sceneScale: number;
  threads: number;
  epochOrder: number[];
  epochPosition: number;
  rng: Uint32Array;
  settings: SplatSettings;
}
