import { api, describeError, type Run } from '../api.ts';
import { errorBox, h, replaceChildren, spinner } from '../dom.ts';
import { capitalize, formatDuration, formatPercent } from '../format.ts';
import type { Page } from '../router.ts';

const STATUSES = ['completed', 'failed', 'canceled', 'processing', 'fetching', 'uploading', 'queued'];
const MAX_RUNS = 1000;
const PAGE = 200;

const median = (values: number[]) => {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Runs by status, processing time and photos per run, computed here from the run list. */
export const analyticsPage: Page = (root) => {
  document.title = 'Analytics · Recon';
  let disposed = false;
  const body = h('div', null, spinner('Crunching runs…'));
  root.append(
    h(
      'section',
      { class: 'page' },
      h('div', { class: 'page-head' }, h('h1', null, 'Analytics'), h('p', { class: 'lede' }, 'How this server’s runs are going.')),
      body,
    ),
  );

  (async () => {
    const runs: Run[] = [];
    let total = 0;
    do {
      const page = await api.listRuns({ limit: PAGE, offset: runs.length });
      total = page.total;
      runs.push(...page.runs);
      if (!page.runs.length) break;
    } while (runs.length < Math.min(total, MAX_RUNS));
    return { runs, total };
  })()
    .then(({ runs, total }) => {
      if (disposed) return;
      if (!runs.length) {
        replaceChildren(body, h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, 'No runs yet.'), h('p', null, h('a', { class: 'button button-primary', href: '/' }, 'Start a run'))));
        return;
      }
      replaceChildren(body, report(runs, total));
    })
    .catch((error) => replaceChildren(body, errorBox('Could not load the runs', describeError(error))));

  return () => {
    disposed = true;
  };
};

function report(runs: Run[], total: number) {
  const byStatus = new Map<string, number>();
  for (const run of runs) byStatus.set(run.status, (byStatus.get(run.status) ?? 0) + 1);
  const finished = runs.filter((r) => r.status === 'completed' && r.startedAt && r.finishedAt);
  const times = finished.map((r) => new Date(r.finishedAt!).getTime() - new Date(r.startedAt!).getTime());
  const photos = runs.map((r) => r.images.length);
  const withPhotos = photos.filter((n) => n > 0);
  const ended = (byStatus.get('completed') ?? 0) + (byStatus.get('failed') ?? 0);
  const engines = [...new Set(runs.map((r) => r.engine))].sort();

  const statusRows = STATUSES.filter((s) => byStatus.has(s)).map((s) => ({ label: capitalize(s), value: byStatus.get(s)!, className: `bar-${s}` }));
  const timeByEngine = engines
    .map((engine) => ({ engine, times: finished.filter((r) => r.engine === engine).map((r) => new Date(r.finishedAt!).getTime() - new Date(r.startedAt!).getTime()) }))
    .filter((e) => e.times.length)
    .map((e) => ({ label: e.engine, value: median(e.times)!, text: `${formatDuration(median(e.times)!)} · ${e.times.length} runs` }));

  // Worker time and cost of the stages that ran (reused stages cost their run nothing).
  const ran = runs.flatMap((r) => r.stages).filter((s) => s.status !== 'reused' && s.seconds > 0);
  const sumBy = (key: (s: (typeof ran)[number]) => string, value: (s: (typeof ran)[number]) => number) => {
    const sums = new Map<string, number>();
    for (const s of ran) sums.set(key(s), (sums.get(key(s)) ?? 0) + value(s));
    return [...sums].sort((a, b) => b[1] - a[1]);
  };
  const timeByStage = sumBy((s) => s.name, (s) => s.seconds).map(([label, seconds]) => ({ label, value: seconds, text: formatDuration(seconds * 1000) }));
  const costByEngine = sumBy((s) => s.engine, (s) => s.cost)
    .filter(([, cost]) => cost > 0)
    .map(([label, cost]) => ({ label, value: cost, text: cost.toFixed(cost < 1 ? 4 : 2) }));

  return h(
    'div',
    { class: 'analytics' },
    runs.length < total ? h('p', { class: 'muted small' }, `From the newest ${runs.length} of ${total} runs.`) : null,
    h(
      'div',
      { class: 'stats' },
      stat('Runs', String(total)),
      stat('Succeeded', ended ? formatPercent((byStatus.get('completed') ?? 0) / ended) : '—', 'of finished runs'),
      stat('Median time', times.length ? formatDuration(median(times)!) : '—', 'completed runs, start to finish'),
      stat('Photos per run', withPhotos.length ? String(median(withPhotos)) : '—', 'median, runs with photos'),
    ),
    h(
      'div',
      { class: 'charts' },
      chart('Runs by status', statusRows.map((r) => ({ ...r, text: String(r.value) }))),
      chart('Processing time by engine (median)', timeByEngine, 'No completed runs yet.'),
      chart('Photos per run', histogram(photos)),
      chart('Processing time', durationHistogram(times), 'No completed runs yet.'),
      chart('Worker time by stage', timeByStage, 'No stage has run yet.'),
      chart('Cost by engine', costByEngine, 'No cost recorded: set RECON_WORKER_COST_PER_HOUR on the workers.'),
    ),
  );
}

function stat(label: string, value: string, note?: string) {
  return h('div', { class: 'stat card' }, h('p', { class: 'stat-label' }, label), h('p', { class: 'stat-value' }, value), note ? h('p', { class: 'muted small' }, note) : null);
}

interface Row {
  label: string;
  value: number;
  text?: string;
  className?: string;
}

function chart(title: string, rows: Row[], empty = 'Nothing to show.') {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return h(
    'figure',
    { class: 'chart card' },
    h('figcaption', null, title),
    rows.length
      ? h(
          'dl',
          { class: 'bars' },
          rows.map((row) => [
            h('dt', null, row.label),
            h(
              'dd',
              null,
              h('span', { class: `bar ${row.className ?? ''}`, style: { width: `${(row.value / max) * 100}%` } }),
              h('span', { class: 'bar-text' }, row.text ?? String(row.value)),
            ),
          ]),
        )
      : h('p', { class: 'muted small' }, empty),
  );
}

function histogram(values: number[]): Row[] {
  const buckets: [string, number, number][] = [
    ['1–4', 1, 4],
    ['5–9', 5, 9],
    ['10–24', 10, 24],
    ['25–49', 25, 49],
    ['50–99', 50, 99],
    ['100+', 100, Number.POSITIVE_INFINITY],
  ];
  const none = values.filter((v) => v === 0).length;
  const rows = buckets.map(([label, lo, hi]) => ({ label, value: values.filter((v) => v >= lo && v <= hi).length }));
  return [...(none ? [{ label: 'none', value: none }] : []), ...rows].filter((r, i, all) => r.value || all.slice(i).some((x) => x.value));
}

function durationHistogram(times: number[]): Row[] {
  const buckets: [string, number][] = [
    ['< 10 s', 10_000],
    ['10–60 s', 60_000],
    ['1–5 min', 300_000],
    ['5–30 min', 1_800_000],
    ['30 min +', Number.POSITIVE_INFINITY],
  ];
  let low = 0;
  const rows = buckets.map(([label, high]) => {
    const value = times.filter((t) => t >= low && t < high).length;
    low = high;
    return { label, value };
  });
  return times.length ? rows : [];
}
