import type { AnalyticsRepository, StageUsageRow } from '../db/analytics-repository.ts';

/** GET /api/analytics/summary: what the runs of an owner (or of everyone) add up to. */
export class AnalyticsService {
  readonly #repo: AnalyticsRepository;
  constructor(repo: AnalyticsRepository) {
    this.#repo = repo;
  }

  async summary(owner: string | null) {
    const [byStatus, { total, engines }, settingValues, settings, usage] = await Promise.all([
      this.#repo.byStatus(owner),
      this.#repo.perEngine(owner),
      this.#repo.commonSettingValues(owner),
      this.#repo.commonSettings(owner),
      this.#repo.stageUsage(owner),
    ]);
    const rows = (kind: StageUsageRow['kind']) => usage.filter((u) => u.kind === kind);
    const all = usage.find((u) => u.kind === 'total');
    return {
      totals: { runs: total.runs, byStatus },
      averages: { processingSeconds: total.avgProcessingSeconds, imagesPerRun: total.avgImagesPerRun },
      mostCommonSettings: settingValues,
      usage: {
        seconds: all?.seconds ?? 0,
        cost: all?.cost ?? 0,
        byStage: rows('stage').map(({ kind: _, key, ...figures }) => ({ stage: key, ...figures })),
        byEngine: rows('engine').map(({ kind: _, key, ...figures }) => ({ engine: key, ...figures })),
      },
      engines: engines.map(({ engine, ...rest }) => ({
        engine,
        ...rest,
        mostCommonSettings: settings.filter((s) => s.engine === engine).map(({ settings: values, runs }) => ({ settings: values, runs })),
      })),
    };
  }
}
