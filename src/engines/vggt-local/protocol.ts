/** The JSON lines worker.py speaks (see its docstring). */

export type WorkerErrorKind =
  | 'no_numpy'
  | 'no_torch'
  | 'no_cuda'
  | 'no_vggt'
  | 'no_weights'
  | 'load_failed'
  | 'oom'
  | 'bad_input'
  | 'bad_request'
  | 'failed';

export interface ReadyMessage {
  type: 'ready';
  loadSeconds: number;
  device: string;
  dtype: string;
  torch?: string;
  gpu?: string;
}

export interface ProgressMessage {
  type: 'progress';
  id: string;
  stage: string;
  fraction: number;
  message?: string | null;
}

export interface ResultMessage {
  type: 'result';
  id: string;
  path: string;
  seconds: number;
  frames: number;
  height: number;
  width: number;
  keys?: string[];
}

export interface ErrorMessage {
  type: 'error';
  id?: string;
  kind: WorkerErrorKind;
  message: string;
  fatal?: boolean;
}

export interface CheckMessage {
  type: 'check';
  ok: boolean;
  python?: string;
  torch?: string;
  cuda?: boolean;
  gpu?: string;
  kind?: WorkerErrorKind;
  message?: string;
}

export type WorkerMessage =
  | { type: 'loading'; weights: string; device: string }
  | ReadyMessage
  | ProgressMessage
  | ResultMessage
  | ErrorMessage
  | CheckMessage;

const TYPES = new Set(['loading', 'ready', 'progress', 'result', 'error', 'check']);

/** A protocol message, or undefined for any other line (which is then just logged). */
export function parseWorkerLine(line: string): WorkerMessage | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as { type?: unknown };
    return typeof value.type === 'string' && TYPES.has(value.type) ? (value as WorkerMessage) : undefined;
  } catch {
    return undefined;
  }
}

export interface RunRequest {
  type: 'run';
  id: string;
  images: string[];
  out: string;
}
