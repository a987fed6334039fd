/**
 * Every buffer the kernels read or write, as typed arrays over SharedArrayBuffers so the
 * worker threads see the same memory. Buffers are sized by what they index (Gaussians,
 * pixels, tiles, tile–Gaussian intersections) and grow between steps, never inside one.
 */
export type FloatArray = Float32Array | Float64Array;
export type FloatCtor = Float32ArrayConstructor | Float64ArrayConstructor;

/** The optimised parameter groups, each a Gaussian-indexed array of `width` values. */
export const PARAM_GROUPS = ['means', 'logScales', 'quats', 'opacities', 'sh0', 'shN'] as const;
export type ParamGroup = (typeof PARAM_GROUPS)[number];

/** Values per Gaussian in each group; shN holds SH degrees 1..maxDegree, coefficient-major (RGB innermost). */
export function groupWidth(group: ParamGroup, shDegree: number): number {
  switch (group) {
    case 'means':
    case 'logScales':
    case 'sh0':
      return 3;
    case 'quats':
      return 4;
    case 'opacities':
      return 1;
    case 'shN':
      return ((shDegree + 1) ** 2 - 1) * 3;
  }
}

type Sized = 'gaussians' | 'pixels' | 'tiles' | 'isects' | 'rows' | 'fixed';
type ElementType = 'float' | 'int32' | 'uint32' | 'float64';
interface Spec {
  sized: Sized;
  /** Elements per unit of `sized` (per thread too when `perThread`). */
  width: number;
  type: ElementType;
  perThread?: boolean;
  /** Contents survive growth (state that outlives one step). */
  keep?: boolean;
}

export interface Arrays {
  means: FloatArray;
  logScales: FloatArray;
  quats: FloatArray;
  opacities: FloatArray;
  sh0: FloatArray;
  shN: FloatArray;
  gradMeans: FloatArray;
  gradLogScales: FloatArray;
  gradQuats: FloatArray;
  gradOpacities: FloatArray;
  gradSh0: FloatArray;
  gradShN: FloatArray;
  mMeans: FloatArray;
  mLogScales: FloatArray;
  mQuats: FloatArray;
  mOpacities: FloatArray;
  mSh0: FloatArray;
  mShN: FloatArray;
  vMeans: FloatArray;
  vLogScales: FloatArray;
  vQuats: FloatArray;
  vOpacities: FloatArray;
  vSh0: FloatArray;
  vShN: FloatArray;
  /** Densification statistics: summed view-space gradient norms and visible-view counts. */
  gradAccum: FloatArray;
  countAccum: FloatArray;
  /** Projection outputs for the current camera. */
  mean2d: FloatArray;
  conic: FloatArray;
  color: FloatArray;
  alpha: FloatArray;
  depth: FloatArray;
  radius: Int32Array;
  tileRect: Int32Array;
  /** Per-thread view-space gradients, reduced in thread order by the projection backward pass. */
  tMean2d: FloatArray;
  tConic: FloatArray;
  tColor: FloatArray;
  tAlpha: FloatArray;
  /** Depth order of the visible Gaussians (radix sort buffers). */
  order: Int32Array;
  orderTmp: Int32Array;
  keys: Uint32Array;
  keysTmp: Uint32Array;
  /** Per tile: where its slice of `isects` starts (tiles + 1 entries) and a fill cursor. */
  tileStart: Int32Array;
  tileCursor: Int32Array;
  isects: Int32Array;
  /** Rendered image (RGB interleaved), final transmittance, and the last contributing intersection per pixel. */
  image: FloatArray;
  finalT: FloatArray;
  lastIdx: Int32Array;
  target: FloatArray;
  /** dLoss/dImage. */
  dImage: FloatArray;
  /** SSIM: 5 horizontally filtered maps, 3 per-position derivative maps, 3 vertically back-filtered maps. */
  ssimH: FloatArray;
  ssimD: FloatArray;
  ssimB: FloatArray;
  /** Per-row partial sums (L1, SSIM) so the loss is summed in a fixed order whatever the thread count. */
  rowL1: Float64Array;
  rowSsim: Float64Array;
  /** Tile range of each thread (threads + 1 entries). */
  tileParts: Int32Array;
  /** Camera and step constants, see FRAME. */
  frame: Float64Array;
}

const param = (width: number): Spec => ({ sized: 'gaussians', width, type: 'float', keep: true });
const perGaussian = (width: number, type: ElementType = 'float'): Spec => ({ sized: 'gaussians', width, type });

function specs(shWidth: number): Record<keyof Arrays, Spec> {
  return {
    means: param(3),
    logScales: param(3),
    quats: param(4),
    opacities: param(1),
    sh0: param(3),
    shN: param(shWidth),
    gradMeans: perGaussian(3),
    gradLogScales: perGaussian(3),
    gradQuats: perGaussian(4),
    gradOpacities: perGaussian(1),
    gradSh0: perGaussian(3),
    gradShN: perGaussian(shWidth),
    mMeans: param(3),
    mLogScales: param(3),
    mQuats: param(4),
    mOpacities: param(1),
    mSh0: param(3),
    mShN: param(shWidth),
    vMeans: param(3),
    vLogScales: param(3),
    vQuats: param(4),
    vOpacities: param(1),
    vSh0: param(3),
    vShN: param(shWidth),
    gradAccum: param(1),
    countAccum: param(1),
    mean2d: perGaussian(2),
    conic: perGaussian(3),
    color: perGaussian(3),
    alpha: perGaussian(1),
    depth: perGaussian(1),
    radius: perGaussian(1, 'int32'),
    tileRect: perGaussian(4, 'int32'),
    tMean2d: { ...perGaussian(2), perThread: true },
    tConic: { ...perGaussian(3), perThread: true },
    tColor: { ...perGaussian(3), perThread: true },
    tAlpha: { ...perGaussian(1), perThread: true },
    order: perGaussian(1, 'int32'),
    orderTmp: perGaussian(1, 'int32'),
    keys: perGaussian(1, 'uint32'),
    keysTmp: perGaussian(1, 'uint32'),
    tileStart: { sized: 'tiles', width: 1, type: 'int32' },
    tileCursor: { sized: 'tiles', width: 1, type: 'int32' },
    isects: { sized: 'isects', width: 1, type: 'int32' },
    image: { sized: 'pixels', width: 3, type: 'float' },
    finalT: { sized: 'pixels', width: 1, type: 'float' },
    lastIdx: { sized: 'pixels', width: 1, type: 'int32' },
    target: { sized: 'pixels', width: 3, type: 'float' },
    dImage: { sized: 'pixels', width: 3, type: 'float' },
    ssimH: { sized: 'pixels', width: 15, type: 'float' },
    ssimD: { sized: 'pixels', width: 9, type: 'float' },
    ssimB: { sized: 'pixels', width: 9, type: 'float' },
    rowL1: { sized: 'rows', width: 1, type: 'float64' },
    rowSsim: { sized: 'rows', width: 1, type: 'float64' },
    tileParts: { sized: 'fixed', width: 65, type: 'int32' },
    frame: { sized: 'fixed', width: FRAME_SIZE, type: 'float64' },
  };
}

/** Slots of `frame`: the camera of the current pass and the step's constants. */
export const FRAME = {
  /** Row-major world→camera rotation (9) then translation (3). */
  viewmat: 0,
  fx: 12,
  fy: 13,
  cx: 14,
  cy: 15,
  width: 16,
  height: 17,
  /** Camera centre in world coordinates (3). */
  center: 18,
  shDegree: 21,
  /** RGB (3). */
  background: 22,
  count: 25,
  tilesX: 26,
  tilesY: 27,
  ssimWeight: 28,
  /** 1 while densification statistics are collected. */
  accumulate: 29,
  /** Per parameter group, in PARAM_GROUPS order (6). */
  lr: 30,
  beta1: 36,
  beta2: 37,
  epsilon: 38,
  /** Adam's step count t (bias correction). */
  adamStep: 39,
} as const;
const FRAME_SIZE = 48;

export const TILE = 16;

export interface Capacity {
  gaussians: number;
  pixels: number;
  rows: number;
  tiles: number;
  isects: number;
}

/** How buffers travel to a worker thread: the shared memory and how to view it. */
export interface WorkspaceMessage {
  version: number;
  float: 'f32' | 'f64';
  buffers: Record<string, { buffer: SharedArrayBuffer; type: ElementType }>;
}

export class Workspace {
  readonly float: FloatCtor;
  readonly threads: number;
  readonly shWidth: number;
  readonly maxShDegree: number;
  version = 0;
  readonly capacity: Capacity = { gaussians: 0, pixels: 0, rows: 0, tiles: 0, isects: 0 };
  readonly a: Arrays;
  readonly #specs: Record<keyof Arrays, Spec>;

  constructor(options: { float?: FloatCtor; threads: number; maxShDegree: number }) {
    this.float = options.float ?? Float32Array;
    this.threads = options.threads;
    this.maxShDegree = options.maxShDegree;
    this.shWidth = groupWidth('shN', options.maxShDegree);
    this.#specs = specs(this.shWidth);
    this.a = {} as Arrays;
    for (const name of Object.keys(this.#specs) as (keyof Arrays)[]) this.#allocate(name, 0);
  }

  /** Grows whatever is too small for `need` (by half again, so growth is rare); contents marked `keep` survive. */
  ensure(need: Partial<Capacity>): void {
    let grown = false;
    for (const key of Object.keys(need) as (keyof Capacity)[]) {
      const wanted = need[key]!;
      if (wanted <= this.capacity[key]) continue;
      this.capacity[key] = key === 'pixels' || key === 'rows' || key === 'tiles' ? wanted : Math.ceil(wanted * 1.5) + 64;
      grown = true;
      for (const [name, spec] of Object.entries(this.#specs) as [keyof Arrays, Spec][]) {
        if (spec.sized === key) this.#allocate(name, this.capacity[key]);
      }
    }
    if (grown) this.version++;
  }

  message(): WorkspaceMessage {
    const buffers: WorkspaceMessage['buffers'] = {};
    for (const [name, spec] of Object.entries(this.#specs)) {
      buffers[name] = { buffer: this.a[name as keyof Arrays].buffer as SharedArrayBuffer, type: spec.type };
    }
    return { version: this.version, float: this.float === Float64Array ? 'f64' : 'f32', buffers };
  }

  #allocate(name: keyof Arrays, units: number): void {
    const spec = this.#specs[name];
    const length = spec.sized === 'fixed' ? spec.width : units * spec.width * (spec.perThread ? this.threads : 1);
    const ctor = constructorOf(spec.type, this.float);
    const bytes = spec.type === 'float' ? this.float.BYTES_PER_ELEMENT : spec.type === 'float64' ? 8 : 4;
    const next = new ctor(new SharedArrayBuffer(Math.max(1, length) * bytes));
    const old = this.a[name];
    if (old && spec.keep) next.set(old.subarray(0, Math.min(old.length, next.length)) as never);
    (this.a as unknown as Record<string, unknown>)[name] = next;
  }
}

/** The worker's view of a workspace it was sent. */
export function arraysFromMessage(message: WorkspaceMessage): Arrays {
  const float = message.float === 'f64' ? Float64Array : Float32Array;
  const out: Record<string, unknown> = {};
  for (const [name, { buffer, type }] of Object.entries(message.buffers)) out[name] = new (constructorOf(type, float))(buffer);
  return out as unknown as Arrays;
}

type AnyCtor = new (buffer: SharedArrayBuffer) => FloatArray | Int32Array | Uint32Array;
function constructorOf(type: ElementType, float: FloatCtor): AnyCtor {
  switch (type) {
    case 'float':
      return float;
    case 'float64':
      return Float64Array;
    case 'int32':
      return Int32Array;
    case 'uint32':
      return Uint32Array;
  }
}
