import type { ColmapStage } from './commands.ts';

export interface ProgressUpdate {
  stage: ColmapStage;
  /** 0–1 within the stage. */
  fraction: number;
  message: string;
}

const PROCESSED_FILE = /^Processed file \[(\d+)\/(\d+)\]/;
const MATCHING_BLOCK = /^Matching block \[(\d+)\/(\d+), (\d+)\/(\d+)\]/;
const MATCHING_IMAGE = /^Matching image \[(\d+)\/(\d+)\]/;
const INITIAL_PAIR = /^Initializing with image pair #(\d+) and #(\d+)/;
const REGISTERING = /^Registering image #(\d+) \((\d+)\)/;

/**
 * Reads one line of COLMAP 3.8 output. `totalImages` is the run's image count: the mapper
 * prints how many images are registered so far, never out of how many.
 */
export function parseProgressLine(line: string, totalImages: number): ProgressUpdate | undefined {
  let m = PROCESSED_FILE.exec(line);
  if (m) {
    const [i, n] = [Number(m[1]), Number(m[2])];
    return { stage: 'extracting', fraction: ratio(i, n), message: `Extracted features from image ${i} of ${n}` };
  }
  m = MATCHING_BLOCK.exec(line);
  if (m) {
    const [i, n, j, k] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
    return { stage: 'matching', fraction: ratio((i - 1) * k + j, n * k), message: `Matched block ${(i - 1) * k + j} of ${n * k}` };
  }
  m = MATCHING_IMAGE.exec(line);
  if (m) {
    const [i, n] = [Number(m[1]), Number(m[2])];
    return { stage: 'matching', fraction: ratio(i, n), message: `Matched image ${i} of ${n}` };
  }
  m = INITIAL_PAIR.exec(line);
  if (m) return { stage: 'mapping', fraction: ratio(2, totalImages), message: `Registered 2 of ${totalImages} images` };
  m = REGISTERING.exec(line);
  if (m) {
    const registered = Number(m[2]);
    return { stage: 'mapping', fraction: ratio(registered, totalImages), message: `Registered ${registered} of ${totalImages} images` };
  }
  return undefined;
}

const ratio = (a: number, b: number): number => (b > 0 ? Math.min(1, Math.max(0, a / b)) : 0);

export interface ImageReadFailure {
  name: string;
  reason: string;
}

/**
 * Collects the images feature_extractor could not use. It prints "Processed file [i/N]",
 * then "  Name: x.jpg", then either the image's details or an "  ERROR: …" line.
 */
export function createExtractionChecker(): { feed(line: string): void; failures: ImageReadFailure[] } {
  const failures: ImageReadFailure[] = [];
  let current: string | undefined;
  return {
    failures,
    feed(line) {
      const name = /^\s+Name:\s+(.+?)\s*$/.exec(line);
      if (name) {
        current = name[1];
        return;
      }
      const error = /^\s+ERROR:\s*(.+?)\s*$/.exec(line);
      if (error && current !== undefined) failures.push({ name: current, reason: error[1]! });
    },
  };
}

/** The most images any reconstruction attempt registered, discarded sub-models included. */
export function createRegistrationCounter(): { feed(line: string): void; readonly best: number } {
  let best = 0;
  // An initial pair counts once it survived: COLMAP prints the pair before trying it.
  let pendingPair = false;
  return {
    feed(line) {
      if (INITIAL_PAIR.test(line)) pendingPair = true;
      else if (line.includes('Initialization failed')) pendingPair = false;
      else if (pendingPair && line.startsWith('Global bundle adjustment')) {
        pendingPair = false;
        best = Math.max(best, 2);
      }
      const m = REGISTERING.exec(line);
      if (m) best = Math.max(best, Number(m[2]));
    },
    get best() {
      return best;
    },
  };
}
