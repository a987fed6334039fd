import type { AnalyticsRepository } from '../db/analytics-repository.ts';

/** GET /api/analytics/summary: what the runs of an owner (or of everyone) add up to. */
export class AnalyticsService {
  readonly #repo: AnalyticsRepository;
  constructor(repo: AnalyticsRepository) {
    this.#repo = repo;
  }

  async summary(owner: string | null) {
    const [byStatus, { total, engines }, settingValues, settings] = await Promise.all([
      this.#repo.byStatus(owner),
      this.#repo.perEngine(owner),
      this.#repo.commonSettingValues(owner),
      this.#repo.commonSettings(owner),
    ]);
    return {
      totals: { runs: total.runs, byStatus },
      averages: { processingSeconds: total.avgProcessingSeconds, imagesPerRun: total.avgImagesPerRun },
      mostCommonSettings: settingValues,
      engines: engines.map(({ engine, ...rest }) => ({
        engine,
        ...rest,
        mostCommonSettings: settings.filter((s) => s.engine === engine).map(({ settings: values, runs }) => ({ settings: values, runs })),
      })),
    };
  }
}
