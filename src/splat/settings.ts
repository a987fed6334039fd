import { z } from 'zod';

/** Every knob of the trainer; a preset fills the ones a caller leaves out. */
const knobs = {
  width: z.number().int().min(16).max(4096).describe('Working width in pixels: training images are scaled down to it (height keeps the aspect ratio)'),
  iterations: z.number().int().min(1).max(1_000_000).describe('Optimisation steps, one training view each'),
  shDegree: z.number().int().min(0).max(3).describe('Highest spherical-harmonics degree (view-dependent colour)'),
  shDegreeInterval: z.number().int().min(1).describe('Steps between raising the active SH degree by one'),
  lrMeans: z.number().positive().describe('Adam learning rate of the positions, times the scene scale'),
  lrMeansFinal: z.number().positive().max(1).describe('Position learning rate at the last step, as a fraction of lrMeans (exponential decay)'),
  lrScales: z.number().positive().describe('Learning rate of the log-scales'),
  lrQuats: z.number().positive().describe('Learning rate of the rotations (quaternions)'),
  lrOpacities: z.number().positive().describe('Learning rate of the opacity logits'),
  lrSh0: z.number().positive().describe('Learning rate of the base colour (SH degree 0)'),
  lrShN: z.number().positive().describe('Learning rate of the view-dependent colour (SH degrees 1–3)'),
  adamBeta1: z.number().min(0).max(0.9999),
  adamBeta2: z.number().min(0).max(0.999999),
  adamEpsilon: z.number().positive(),
  ssimWeight: z.number().min(0).max(1).describe('Loss = (1 − w)·L1 + w·(1 − SSIM)'),
  refineStart: z.number().int().min(0).describe('First step after which Gaussians are grown and pruned'),
  refineStop: z.number().int().min(0).describe('Step from which growing, pruning and opacity resets stop'),
  refineEvery: z.number().int().min(1).describe('Steps between growth/pruning passes'),
  resetEvery: z.number().int().min(1).describe('Steps between opacity resets (before refineStop)'),
  growGrad2d: z.number().positive().describe('Mean view-space positional gradient (NDC units) above which a Gaussian is cloned or split'),
  growScale3d: z.number().positive().describe('Largest scale, as a fraction of the scene scale, of a Gaussian that is cloned rather than split'),
  pruneOpacity: z.number().min(0).max(1).describe('Opacity below which a Gaussian is removed'),
  pruneScale3d: z.number().positive().describe('Largest scale, as a fraction of the scene scale, beyond which a Gaussian is removed (after the first reset)'),
  maxGaussians: z.number().int().min(1).max(20_000_000).describe('Growth stops at this many Gaussians (bounds time and memory)'),
  initOpacity: z.number().gt(0).lt(1).describe('Opacity of the Gaussians made from the sparse points'),
  initScale: z.number().positive().describe('Initial scale as a multiple of the mean distance to the 3 nearest points'),
  background: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1), z.number().min(0).max(1)]).describe('Colour behind the splats, RGB in 0..1'),
  threads: z.number().int().min(0).max(64).describe('Worker threads; 0 picks the number of cores'),
};

type Knobs = { [K in keyof typeof knobs]: z.infer<(typeof knobs)[K]> };
export type SplatSettings = Knobs & { preset: SplatPreset };
export const SPLAT_PRESETS = ['quick', 'standard', 'high'] as const;
export type SplatPreset = (typeof SPLAT_PRESETS)[number];

/** gsplat's defaults (DESIGN.md "Splat pipeline"), with the schedule fitted to each preset's length. */
const base: Omit<Knobs, 'width' | 'iterations' | 'refineStart' | 'refineStop' | 'resetEvery' | 'shDegreeInterval' | 'maxGaussians'> = {
  shDegree: 3,
  lrMeans: 1.6e-4,
  lrMeansFinal: 0.01,
  lrScales: 5e-3,
  lrQuats: 1e-3,
  lrOpacities: 5e-2,
  lrSh0: 2.5e-3,
  lrShN: 2.5e-3 / 20,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-15,
  ssimWeight: 0.2,
  refineEvery: 100,
  growGrad2d: 2e-4,
  growScale3d: 0.01,
  pruneOpacity: 0.005,
  pruneScale3d: 0.1,
  initOpacity: 0.1,
  initScale: 1,
  background: [0, 0, 0],
  threads: 0,
};

export const PRESET_VALUES: Record<SplatPreset, Knobs> = {
  // Minutes on 2 cores: the schedule is gsplat's compressed ~5×, with no opacity reset
  // (a reset needs ~1k steps to recover, more than this run has left).
  quick: { ...base, width: 300, iterations: 1500, shDegreeInterval: 300, refineStart: 200, refineStop: 1200, resetEvery: 100_000, maxGaussians: 50_000 },
  // Inria's 7k-step evaluation point; refinement stops early enough to recover from the reset at 3000.
  // 100k Gaussians is ample for ~0.1 Mpx views and keeps a step under ~0.5 s on 2 cores.
  standard: { ...base, width: 400, iterations: 7000, shDegreeInterval: 1000, refineStart: 500, refineStop: 5000, resetEvery: 3000, maxGaussians: 100_000 },
  // gsplat's full 30k schedule.
  high: { ...base, width: 800, iterations: 30_000, shDegreeInterval: 1000, refineStart: 500, refineStop: 15_000, resetEvery: 3000, maxGaussians: 1_000_000 },
};

const optionalKnobs = Object.fromEntries(Object.entries(knobs).map(([k, v]) => [k, v.optional()])) as {
  [K in keyof typeof knobs]: z.ZodOptional<(typeof knobs)[K]>;
};

/** What a caller may send: a preset and any knobs to override (the rest come from the preset). */
export const splatSettingsSchema = z
  .object({
    preset: z.enum(SPLAT_PRESETS).default('standard').describe('quick (demo/tests, minutes), standard (7k steps at 400 px), high (30k steps at 800 px)'),
    ...optionalKnobs,
  })
  .strict();
export type SplatSettingsInput = z.input<typeof splatSettingsSchema>;

/** Validates `input` and fills every knob it leaves out from its preset. */
export function resolveSplatSettings(input: unknown = {}): SplatSettings {
  const parsed = splatSettingsSchema.parse(input);
  const defined = Object.fromEntries(Object.entries(parsed).filter(([, v]) => v !== undefined));
  const settings = { ...PRESET_VALUES[parsed.preset], ...defined } as SplatSettings;
  if (settings.refineStop < settings.refineStart) throw new Error(`refineStop (${settings.refineStop}) must not be before refineStart (${settings.refineStart})`);
  return settings;
}
