import './styles.css';
import { h } from './dom.ts';
import { startKeyControl } from './key-control.ts';
import { analyticsPage } from './pages/analytics.ts';
import { blueprintPage } from './pages/blueprint.ts';
import { blueprintsPage } from './pages/blueprints.ts';
import { historyPage } from './pages/history.ts';
import { newRunPage } from './pages/new-run.ts';
import { runPage } from './pages/run.ts';
import { route, startRouter } from './router.ts';

route('/', 'new', newRunPage);
route('/runs', 'runs', historyPage);
route('/runs/:runId', 'runs', runPage);
route('/analytics', 'analytics', analyticsPage);
route('/blueprints', 'blueprints', blueprintsPage);
route('/blueprints/:blueprintId', 'blueprints', blueprintPage);

const main = document.getElementById('main')!;
// Before the first page renders, so its first 401 already finds the prompt.
startKeyControl(document.querySelector<HTMLElement>('header.top')!, main);

startRouter(main, (root) => {
  document.title = 'Not found · Recon';
  root.append(
    h(
      'section',
      { class: 'page narrow' },
      h('h1', null, 'Nothing here'),
      h('p', null, 'This page does not exist. ', h('a', { href: '/' }, 'Start a new run'), ' or ', h('a', { href: '/runs' }, 'see past runs'), '.'),
    ),
  );
  return undefined;
});
