import { join } from 'node:path';

/** Where nerfstudio puts a run: `<output-dir>/<experiment-name>/<method>/<timestamp>/`. */
export const EXPERIMENT = 'recon';
export const TIMESTAMP = 'run';
export const runDir = (outputDir: string) => join(outputDir, EXPERIMENT, 'splatfacto', TIMESTAMP);
export const checkpointDir = (outputDir: string) => join(runDir(outputDir), 'nerfstudio_models');

export interface SplatfactoRun {
  project: string;
  outputDir: string;
  iterations: number;
  stepsPerSave: number;
  shDegree: number;
  /** A `nerfstudio_models` folder holding a step-*.ckpt to continue from. */
  loadDir?: string;
}

/**
 * `ns-train splatfacto` arguments (nerfstudio's tyro CLI: trainer options, then the `colmap`
 * data parser and its options). The parser is told to leave the COLMAP world as it is (no
 * re-orientation, centring, scaling or axis swap), so the exported splats share the run's camera
 * frame; the held-out views are already out of the project, so it trains on every view it gets.
 */
export function nsTrainArgs(run: SplatfactoRun): string[] {
  return [
    'splatfacto',
    '--data', run.project,
    '--output-dir', run.outputDir,
    '--experiment-name', EXPERIMENT,
    '--timestamp', TIMESTAMP,
    '--max-num-iterations', String(run.iterations),
    '--steps-per-save', String(run.stepsPerSave),
    '--save-only-latest-checkpoint', 'True',
    '--vis', 'tensorboard',
    '--viewer.quit-on-train-completion', 'True',
    '--logging.local-writer.max-log-size', '0',
    '--pipeline.model.sh-degree', String(run.shDegree),
    ...(run.loadDir ? ['--load-dir', run.loadDir] : []),
    'colmap',
    '--colmap-path', 'sparse/0',
    '--images-path', 'images',
    '--orientation-method', 'none',
    '--center-method', 'none',
    '--auto-scale-poses', 'False',
    '--assume-colmap-world-coordinate-convention', 'False',
    '--eval-mode', 'all',
    '--downscale-factor', '1',
  ];
}

/** `ns-export gaussian-splat`: the trained model as a 3DGS PLY, `splat.ply` in `outputDir`. */
export function nsExportArgs(configPath: string, outputDir: string): string[] {
  return ['gaussian-splat', '--load-config', configPath, '--output-dir', outputDir];
}

/** nerfstudio's local writer prints `1230 (4.10%)   …timings…` per logged step. */
export function parseNsTrainLine(line: string): { step: number; fraction: number } | undefined {
  const m = /^(\d+) \((\d+(?:\.\d+)?)%\)/.exec(line.trim());
  return m ? { step: Number(m[1]), fraction: Number(m[2]) / 100 } : undefined;
}

/** nerfstudio names checkpoints `step-000001000.ckpt`. */
export const checkpointStep = (name: string) => {
  const m = /^step-(\d+)\.ckpt$/.exec(name);
  return m ? Number(m[1]) : undefined;
};
