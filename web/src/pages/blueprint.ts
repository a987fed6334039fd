import { describeError } from '../api.ts';
import { defectsSection } from '../blueprint/defects-section.ts';
import { exportSection } from '../blueprint/export-section.ts';
import { matrixSection } from '../blueprint/matrix-section.ts';
import { photosSection } from '../blueprint/photos-section.ts';
import { regionsSection } from '../blueprint/regions-section.ts';
import { reviewSection } from '../blueprint/review-section.ts';
import { BlueprintState } from '../blueprint/state.ts';
import { errorBox, h, replaceChildren, spinner, statusPill } from '../dom.ts';
import type { Page } from '../router.ts';

/** One blueprint, as a workflow: photos → defects → regions → generate → review → export. */
export const blueprintPage: Page = (root, params) => {
  const state = new BlueprintState(params.blueprintId ?? '');
  const host = h('section', { class: 'page' }, spinner('Loading the blueprint…'));
  root.append(host);
  const pill = h('span', null);
  const subtitle = h('p', { class: 'run-meta' });

  state.load().then(
    () => {
      const renderHead = () => {
        document.title = `${state.view.name} · Blueprints · Recon`;
        replaceChildren(pill, statusPill(state.view.status, state.view.status.replaceAll('_', ' ')));
        const done = state.view.generations.filter((g) => g.status === 'completed').length;
        const approved = state.view.generations.filter((g) => g.rating === 'approved').length;
        replaceChildren(
          subtitle,
          h('span', null, state.view.productType ?? 'product type not set'),
          h('span', null, `${state.view.objects.length} photos × ${state.view.defects.length} defects`),
          h('span', null, `${done} images · ${approved} approved`),
          h('span', { class: 'mono' }, state.view.id),
        );
      };
      state.onChange(renderHead);
      renderHead();
      replaceChildren(
        host,
        h('p', { class: 'eyebrow' }, h('a', { href: '/blueprints' }, 'Blueprints'), ' /'),
        h('div', { class: 'run-head page-head' }, h('div', null, h('h1', null, state.view.name), subtitle), h('div', { class: 'run-actions' }, pill)),
        h('div', { class: 'blueprint-columns' }, photosSection(state), defectsSection(state)),
        regionsSection(state),
        matrixSection(state),
        reviewSection(state),
        exportSection(state),
      );
    },
    (error) => replaceChildren(host, errorBox('The blueprint could not be loaded', describeError(error), 'Check the address, or go back to the list of blueprints.')),
  );
  return () => state.close();
};
