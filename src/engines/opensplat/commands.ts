/** What an OpenSplat training run is asked to do. */
export interface OpenSplatRun {
  project: string;
  output: string;
  iterations: number;
  saveEvery: number;
  shDegree: number;
  downscaleFactor: number;
  /** A PLY OpenSplat saved earlier (with its iteration in the header), to continue from. */
  resume?: string;
}

/**
 * `opensplat` arguments (OpenSplat 1.1, opensplat.cpp). `--keep-crs` writes the splats in the COLMAP
 * model's own frame rather than OpenSplat's centred and scaled one, so they line up with the run's cameras.
 */
export function openSplatArgs(run: OpenSplatRun): string[] {
  return [
    run.project,
    '--output', run.output,
    '--num-iters', String(run.iterations),
    '--save-every', String(run.saveEvery),
    '--sh-degree', String(run.shDegree),
    '--downscale-factor', String(run.downscaleFactor),
    '--keep-crs',
    ...(run.resume ? ['--resume', run.resume] : []),
  ];
}

/** OpenSplat prints `Step 120: 0.0456 (4%)` every 10 steps on a GPU (every step on a CPU). */
export function parseOpenSplatLine(line: string): { step: number; loss: number } | undefined {
  const m = /^Step (\d+): ([-+0-9.eE]+|nan|inf) \((\d+)%\)/.exec(line.trim());
  return m ? { step: Number(m[1]), loss: Number(m[2]) } : undefined;
}

/** The file OpenSplat saves every `--save-every` steps beside the output: `splat_<step>.ply`. */
export const savedSceneName = (outputStem: string, step: number) => `${outputStem}_${step}.ply`;
export const savedSceneStep = (outputStem: string, name: string) => {
  const m = new RegExp(`^${outputStem}_(\\d+)\\.ply$`).exec(name);
  return m ? Number(m[1]) : undefined;
};
