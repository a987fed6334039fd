import { statfs } from 'node:fs/promises';
import type { Config } from '../config.ts';
import type { LimitsResponse } from '../contract/limits.ts';

/** Every limit this server enforces, with the status its error carries, and the free disk space now. */
export class LimitsReport {
  readonly #config: Pick<Config, 'limits' | 'rateLimits' | 'maxRunSeconds' | 'dataDir'>;

  constructor(config: Pick<Config, 'limits' | 'rateLimits' | 'maxRunSeconds' | 'dataDir'>) {
    this.#config = config;
  }

  async describe(): Promise<LimitsResponse> {
    const config = this.#config;
    const { limits, rateLimits, maxRunSeconds } = config;
    const disk = await statfs(config.dataDir).catch(() => undefined);
    return {
      freeDiskBytes: disk ? disk.bavail * disk.bsize : null,
      limits: [
        { name: 'maxImages', value: limits.maxImages, unit: 'images', scope: 'run', status: 422, setting: 'MAX_IMAGES', description: 'Images per run (engines may allow fewer)' },
        { name: 'maxFileBytes', value: limits.maxFileBytes, unit: 'bytes', scope: 'file', status: 413, setting: 'MAX_FILE_BYTES', description: 'Size of one uploaded image' },
        { name: 'maxRunBytes', value: limits.maxRunBytes, unit: 'bytes', scope: 'run', status: 413, setting: 'MAX_RUN_BYTES', description: 'Total size of the images of one run' },
        { name: 'maxQueuedRunsPerKey', value: limits.maxQueuedRunsPerKey, unit: 'runs', scope: 'key', status: 429, setting: 'MAX_QUEUED_RUNS_PER_KEY', description: 'Runs one (non-admin) key may have queued or running at once' },
        { name: 'maxRunSeconds', value: maxRunSeconds, unit: 'seconds', scope: 'run', status: null, setting: 'RECON_MAX_RUN_SECONDS', description: 'Run time; a run that takes longer fails with this reason' },
        { name: 'minFreeDiskBytes', value: limits.minFreeDiskBytes, unit: 'bytes', scope: 'server', status: 507, setting: 'RECON_MIN_FREE_DISK_BYTES', description: 'Uploads are refused when the data disk has less free space' },
        { name: 'rateLimit', value: rateLimits.max, unit: `requests per ${rateLimits.windowMs / 1000} s`, scope: 'key, or IP without one', status: 429, setting: 'RECON_RATE_LIMIT_MAX, RECON_RATE_LIMIT_WINDOW_MS', description: 'Requests on any route (admins and the local user of a loopback server are exempt)' },
        { name: 'runsPerHour', value: rateLimits.max === 0 ? 0 : rateLimits.runsPerHour, unit: 'runs per hour', scope: 'key, or IP without one', status: 429, setting: 'RECON_RATE_LIMIT_RUNS_PER_HOUR', description: 'Run creations (POST /api/runs, reruns, batches)' },
      ],
    };
  }
}
