export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export function formatWhen(iso: string): string {
  const diff = (new Date(iso).getTime() - Date.now()) / 1000;
  const abs = Math.abs(diff);
  if (abs < 45) return 'just now';
  if (abs < 3600) return relative.format(Math.round(diff / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(diff / 3600), 'hour');
  if (abs < 86400 * 7) return relative.format(Math.round(diff / 86400), 'day');
  return new Date(iso).toLocaleDateString();
}

export const formatPercent = (fraction: number) => `${Math.round(fraction * 100)}%`;

/** Run duration: from start (or request) to finish (or now while running). */
export function runDuration(run: { requestedAt: string; startedAt?: string; finishedAt?: string }): number | undefined {
  if (!run.startedAt) return undefined;
  const end = run.finishedAt ? new Date(run.finishedAt).getTime() : Date.now();
  return end - new Date(run.startedAt).getTime();
}

export const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** `confThreshold` → `Conf threshold`. */
export const humanize = (key: string) => capitalize(key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase());
