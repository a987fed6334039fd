import type { BlobStore } from '../blobs/blob-store.ts';
import type { RunsRepository } from '../db/runs-repository.ts';
import { ARTIFACT_FILES, imageKey } from '../domain/artifacts.ts';

export interface BlobSweepReport {
  /** Staged blobs (uploads, artifacts on their way) that a dead process left. */
  staged: number;
  multipartUploads: number | 'unsupported';
  /** Images and artifacts in a run's storage that no committed row mentions. */
  uncommitted: string[];
  /** Whole runs whose rows are gone (deleted while their blobs were being removed). */
  orphanRuns: string[];
}

const ARTIFACT_KEYS = new Set<string>(Object.values(ARTIFACT_FILES));
const ID_BATCH = 500;

/**
 * Finds and removes blobs that no committed database row mentions — what a crash between a blob
 * write and its transaction's commit leaves behind. Such blobs are never served (downloads go by
 * the rows); this gets the space back. Writes under way are not touched: anything staged or
 * reserved after `olderThan` is left alone, and a run is checked under its row lock, which every
 * write that puts images or artifacts in place holds until it commits.
 */
export class BlobSweep {
  readonly #runs: RunsRepository;
  readonly #blobs: BlobStore;

  constructor(deps: { runs: RunsRepository; blobs: BlobStore }) {
    this.#runs = deps.runs;
    this.#blobs = deps.blobs;
  }

  /** `recentSince`: runs finished after it are checked too (a crashed attempt may have left artifacts). */
  async sweep(olderThan: Date, recentSince: Date = olderThan): Promise<BlobSweepReport> {
    const staging = await this.#blobs.sweepStaging(olderThan);
    const uncommitted = await this.#staleReservations(olderThan);
    for (const runId of await this.#runs.writable(recentSince)) uncommitted.push(...(await this.#uncommittedIn(runId)));
    return { staged: staging.blobs, multipartUploads: staging.multipartUploads, uncommitted, orphanRuns: await this.#orphanRuns(olderThan) };
  }

  /** Reserved names whose upload never committed: the bytes (if any) go, then the reservation. */
  async #staleReservations(olderThan: Date): Promise<string[]> {
    const removed: string[] = [];
    for (const reservation of await this.#runs.staleReservations(olderThan)) {
      await this.#runs.transaction(async (trx) => {
        if (!(await this.#runs.findForUpdate(reservation.runId, trx))) return;
        const committed = (await this.#runs.images(reservation.runId, trx)).some((i) => i.name === reservation.name);
        if (!committed) {
          await this.#blobs.remove(reservation.runId, imageKey(reservation.name));
          removed.push(`${reservation.runId}/${imageKey(reservation.name)}`);
        }
        await this.#runs.releaseReservations(reservation.runId, reservation.uploadId, trx);
      });
    }
    return removed;
  }

  async #uncommittedIn(runId: string): Promise<string[]> {
    return this.#runs.transaction(async (trx) => {
      const row = await this.#runs.findForUpdate(runId, trx);
      if (!row) return [];
      const images = new Set((await this.#runs.images(runId, trx)).map((i) => imageKey(i.name)));
      for (const name of await this.#runs.reservedImageNames(runId, trx)) images.add(imageKey(name));
      const artifacts = new Set<string>(Object.keys(row.artifacts.available).map((kind) => ARTIFACT_FILES[kind as keyof typeof ARTIFACT_FILES]));
      const removed: string[] = [];
      for (const key of await this.#blobs.list(runId, '')) {
        const stray = key.startsWith('images/') ? !images.has(key) : ARTIFACT_KEYS.has(key) && !artifacts.has(key);
        if (!stray) continue;
        await this.#blobs.remove(runId, key);
        removed.push(`${runId}/${key}`);
      }
      return removed;
    });
  }

  /** Run folders (prefixes) without a row; only those made before `olderThan`, as a rerun copies its images before inserting its row. */
  async #orphanRuns(olderThan: Date): Promise<string[]> {
    const ids = (await this.#blobs.runIds()).filter((id) => Number(id.split('_')[1]) < olderThan.getTime());
    const orphans: string[] = [];
    for (let i = 0; i < ids.length; i += ID_BATCH) {
      const batch = ids.slice(i, i + ID_BATCH);
      const known = await this.#runs.existing(batch);
      orphans.push(...batch.filter((id) => !known.has(id)));
    }
    for (const id of orphans) await this.#blobs.deleteRun(id);
    return orphans;
  }
}
