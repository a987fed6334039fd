import type { Engine, EngineCheck } from '../engine.ts';
import { NOT_INSTALLED } from './errors.ts';
import { runColmap } from './run.ts';
import { type ColmapSettings, colmapSettings } from './settings.ts';
import { runProcess } from './spawn.ts';

export { type ColmapSettings, colmapSettings } from './settings.ts';

export interface ColmapEngineOptions {
  /** The colmap executable; by default $COLMAP_BIN, else `colmap` on PATH (read at each use). */
  binary?: string;
  /** How long COLMAP gets to exit after SIGTERM before the group is killed. */
  killGraceMs?: number;
}

export function createColmapEngine(options: ColmapEngineOptions = {}): Engine<ColmapSettings> {
  const binary = (): string => options.binary ?? process.env.COLMAP_BIN ?? 'colmap';
  const checks = new Map<string, Promise<EngineCheck>>();
  return {
    id: 'colmap',
    title: 'COLMAP',
    description:
      'Classic structure-from-motion on the CPU: SIFT features, matching and incremental mapping. Gives calibrated cameras and a sparse point cloud; slower than learned models, but exact where photos overlap well.',
    settings: colmapSettings,
    limits: { minImages: 2, maxImages: 500 },
    produces: ['glb', 'predictions', 'colmap', 'ply'],
    check() {
      const bin = binary();
      let check = checks.get(bin);
      if (!check) {
        check = checkBinary(bin);
        checks.set(bin, check);
      }
      return check;
    },
    run(ctx) {
      return runColmap(ctx, { binary: binary(), killGraceMs: options.killGraceMs });
    },
  };
}

export const colmapEngine = createColmapEngine();

async function checkBinary(binary: string): Promise<EngineCheck> {
  try {
    const result = await runProcess(binary, ['help'], { signal: AbortSignal.timeout(15_000), env: { ...process.env, QT_QPA_PLATFORM: 'offscreen' } });
    if (result.code === 0) return { ok: true };
    return { ok: false, reason: `"${binary} help" ${result.aborted ? 'did not answer within 15 s' : `exited with code ${result.code ?? result.signal}`}` };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? NOT_INSTALLED : `"${binary}" cannot be run: ${(error as Error).message}` };
  }
}
