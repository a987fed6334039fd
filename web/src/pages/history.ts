import { api, describeError, type Run } from '../api.ts';
import { errorBox, h, replaceChildren, spinner, statusPill } from '../dom.ts';
import { formatDuration, formatWhen, runDuration } from '../format.ts';
import { navigate, type Page } from '../router.ts';

const STATUSES = ['queued', 'uploading', 'processing', 'fetching', 'completed', 'failed', 'canceled'];
const PAGE_SIZES = [10, 20, 50, 100];

export const historyPage: Page = (root, _params, query) => {
  document.title = 'History · Recon';
  const status = query.get('status') ?? '';
  const engine = query.get('engine') ?? '';
  const size = PAGE_SIZES.includes(Number(query.get('size'))) ? Number(query.get('size')) : 20;
  const page = Math.max(1, Math.floor(Number(query.get('page')) || 1));
  let disposed = false;

  const go = (changes: Record<string, string | number>) => {
    const next = new URLSearchParams({ status, engine, size: String(size), page: String(page) });
    for (const [key, value] of Object.entries(changes)) next.set(key, String(value));
    for (const [key, value] of [...next]) if (!value || (key === 'page' && value === '1') || (key === 'size' && value === '20')) next.delete(key);
    navigate(`/runs${next.size ? `?${next}` : ''}`);
  };

  const statusSelect = h(
    'select',
    { id: 'filter-status', onchange: () => go({ status: statusSelect.value, page: 1 }) },
    h('option', { value: '' }, 'All statuses'),
    STATUSES.map((s) => h('option', { value: s, selected: s === status }, s)),
  );
  const engineSelect = h(
    'select',
    { id: 'filter-engine', onchange: () => go({ engine: engineSelect.value, page: 1 }) },
    h('option', { value: '' }, 'All engines'),
    engine ? h('option', { value: engine, selected: true }, engine) : null,
  );
  const sizeSelect = h(
    'select',
    { id: 'page-size', onchange: () => go({ size: sizeSelect.value, page: 1 }) },
    PAGE_SIZES.map((n) => h('option', { value: String(n), selected: n === size }, String(n))),
  );
  const body = h('div', { class: 'history-body' }, spinner('Loading runs…'));

  root.append(
    h(
      'section',
      { class: 'page' },
      h('div', { class: 'page-head' }, h('h1', null, 'History'), h('p', { class: 'lede' }, 'Every run on this server, newest first.')),
      h(
        'form',
        { class: 'filters', role: 'search', 'aria-label': 'Filter runs', onsubmit: (e: Event) => e.preventDefault() },
        h('div', { class: 'field' }, h('label', { for: 'filter-status' }, 'Status'), statusSelect),
        h('div', { class: 'field' }, h('label', { for: 'filter-engine' }, 'Engine'), engineSelect),
        h('div', { class: 'field' }, h('label', { for: 'page-size' }, 'Per page'), sizeSelect),
        status || engine ? h('button', { type: 'button', class: 'button-quiet', onclick: () => go({ status: '', engine: '', page: 1 }) }, 'Clear filters') : null,
      ),
      body,
    ),
  );

  api
    .engines()
    .then(({ engines }) => {
      if (disposed) return;
      replaceChildren(
        engineSelect,
        h('option', { value: '' }, 'All engines'),
        engines.map((e) => h('option', { value: e.id, selected: e.id === engine }, e.title)),
        engine && !engines.some((e) => e.id === engine) ? h('option', { value: engine, selected: true }, engine) : null,
      );
    })
    .catch(() => {});

  api
    .listRuns({ ...(status && { status }), ...(engine && { engine }), limit: size, offset: (page - 1) * size })
    .then(({ runs, total }) => {
      if (disposed) return;
      if (!total) {
        replaceChildren(
          body,
          h(
            'div',
            { class: 'empty' },
            h('p', { class: 'empty-title' }, status || engine ? 'No runs match these filters.' : 'No runs yet.'),
            status || engine ? h('p', null, 'Try other filters.') : h('p', null, h('a', { class: 'button button-primary', href: '/' }, 'Start your first run')),
          ),
        );
        return;
      }
      const first = (page - 1) * size + 1;
      const last = Math.min(total, first + runs.length - 1);
      const pages = Math.ceil(total / size);
      replaceChildren(
        body,
        runs.length ? runTable(runs) : h('p', { class: 'empty' }, 'This page is past the last run.'),
        h(
          'nav',
          { class: 'pager', 'aria-label': 'Pages' },
          h('button', { type: 'button', class: 'button', disabled: page <= 1, onclick: () => go({ page: page - 1 }) }, '← Newer'),
          h('p', { class: 'muted', 'aria-live': 'polite' }, runs.length ? `${first}–${last} of ${total} · page ${page} of ${pages}` : `${total} runs`),
          h('button', { type: 'button', class: 'button', disabled: page >= pages, onclick: () => go({ page: page + 1 }) }, 'Older →'),
        ),
      );
    })
    .catch((error) => replaceChildren(body, errorBox('Could not load the runs', describeError(error), 'Reload the page to try again.')));

  return () => {
    disposed = true;
  };
};

function runTable(runs: Run[]) {
  return h(
    'table',
    { class: 'runs' },
    h('caption', { class: 'visually-hidden' }, 'Runs'),
    h(
      'thead',
      null,
      h('tr', null, ['Run', 'Status', 'Engine', 'Photos', 'Requested', 'Duration'].map((label) => h('th', { scope: 'col' }, label))),
    ),
    h(
      'tbody',
      null,
      runs.map((run) => {
        const duration = runDuration(run);
        return h(
          'tr',
          { 'data-run': run.runId },
          h('td', { 'data-label': 'Run' }, h('a', { class: 'mono', href: `/runs/${run.runId}` }, run.runId)),
          h('td', { 'data-label': 'Status' }, statusPill(run.status)),
          h('td', { 'data-label': 'Engine' }, run.engine),
          h('td', { 'data-label': 'Photos', class: 'num' }, String(run.images.length)),
          h('td', { 'data-label': 'Requested' }, h('time', { datetime: run.requestedAt, title: new Date(run.requestedAt).toLocaleString() }, formatWhen(run.requestedAt))),
          h('td', { 'data-label': 'Duration', class: 'num' }, duration === undefined ? '—' : formatDuration(duration)),
        );
      }),
    ),
  );
}
