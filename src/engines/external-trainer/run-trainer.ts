import { copyFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readPlyHeader } from '../../formats/ply.ts';
import { runProcess } from '../colmap/spawn.ts';
import { type EngineContext, EngineError } from '../engine.ts';

const TAIL_LINES = 40;

export interface ExternalCommand {
  /** What the user knows it as (OpenSplat, ns-train). */
  what: string;
  binary: string;
  args: string[];
  cwd: string;
  /** How to install it, for the error when it is missing. */
  install: string;
  onLine?: (line: string) => void;
}

/**
 * Runs an external trainer in its own process group with argument arrays (never a shell), its
 * output in the run log; `signal` (cancel, shutdown, the stage's time limit) stops the whole group.
 * Rejects with an EngineError that says what failed and what to do.
 */
export async function runExternal(ctx: EngineContext<unknown>, command: ExternalCommand, signal: AbortSignal): Promise<void> {
  const tail: string[] = [];
  ctx.log(`$ ${command.binary} ${command.args.join(' ')}`);
  const result = await runProcess(command.binary, command.args, {
    cwd: command.cwd,
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
    signal,
    onLine: (line) => {
      ctx.log(line);
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      command.onLine?.(line);
    },
  }).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'ENOENT' ? new EngineError(`${command.what} is not installed on this worker ("${command.binary}" was not found)`, { hint: command.install, cause: error }) : error;
  });
  signal.throwIfAborted();
  if (result.code !== 0) {
    const detail = tail.findLast((l) => /error|Error|exception|Traceback|CUDA/.test(l)) ?? tail.at(-1);
    throw new EngineError(`${command.what} ${result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`}${detail ? `: ${detail.trim()}` : ''}`, {
      hint: /out of memory/i.test(tail.join('\n')) ? 'The GPU ran out of memory: raise downscaleFactor or lower the iterations' : "The run log has the trainer's full output",
    });
  }
}

/** A stage time limit joined with the run's own signal; `timedOut()` tells the two apart afterwards. */
export function stageDeadline(signal: AbortSignal, seconds: number) {
  const deadline = AbortSignal.timeout(seconds * 1000);
  return { signal: AbortSignal.any([signal, deadline]), timedOut: () => deadline.aborted && !signal.aborted };
}

/** Stores the trained 3DGS PLY and the stage summary (Gaussians from the PLY header). */
export async function publishSplats(ctx: EngineContext<unknown>, ply: string, summary: Record<string, unknown>): Promise<void> {
  const header = await readPlyHeader(ply).catch((error: Error) => {
    throw new EngineError(`The trainer wrote no readable PLY at ${ply}: ${error.message}`);
  });
  if (!header.properties.some((p) => p.name === 'f_dc_0') || !header.properties.some((p) => p.name === 'rot_0')) {
    throw new EngineError('The trainer wrote a PLY without Gaussian splat properties (f_dc_*, scale_*, rot_*)');
  }
  await ctx.putArtifact('splat-ply', ply);
  await ctx.summarize({ ...summary, gaussians: header.vertexCount });
}

/** Copies `file` to a scratch name and stores it as the stage's checkpoint (the original stays for the trainer). */
export async function saveCheckpointCopy(ctx: EngineContext<unknown>, file: string, name: string): Promise<void> {
  if (!(await stat(file).catch(() => undefined))) return;
  const copy = join(ctx.workDir, `checkpoint-${name}`);
  await copyFile(file, copy);
  await ctx.checkpoint.save(copy);
}
