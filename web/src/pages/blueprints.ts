import { blueprintApi, describeError } from '../api.ts';
import { errorBox, h, replaceChildren, spinner, statusPill } from '../dom.ts';
import { formatWhen } from '../format.ts';
import { navigate, type Page } from '../router.ts';

/** Blueprints: the list, and a form to start one (optionally from a defect template). */
export const blueprintsPage: Page = (root) => {
  document.title = 'Blueprints · Recon';
  let disposed = false;
  const body = h('div', null, spinner('Loading blueprints…'));
  const name = h('input', { type: 'text', id: 'bp-name', maxlength: 200, placeholder: 'e.g. Bottle line 2' });
  const template = h('select', { id: 'bp-new-template' }, h('option', { value: '' }, 'No template — add defects yourself'));
  const errors = h('div', { 'aria-live': 'polite' });
  const note = h('p', { class: 'muted small' });

  const client = blueprintApi.client();
  void Promise.all([client.list({ limit: 100 }), client.templates(), client.capabilities()]).then(
    ([list, templates, capabilities]) => {
      if (disposed) return;
      for (const t of templates) template.append(h('option', { value: `${t.id}@${t.version}` }, `${t.name} (${t.defects.length} defects)`));
      note.textContent = capabilities.generation ? '' : 'Generation is off on this server: start it with FAL_KEY set to generate images.';
      replaceChildren(
        body,
        list.blueprints.length
          ? h(
              'ul',
              { class: 'blueprint-list' },
              list.blueprints.map((b) =>
                h(
                  'li',
                  null,
                  h('a', { href: `/blueprints/${b.id}`, class: 'blueprint-link' }, h('strong', null, b.name), h('span', { class: 'muted small' }, `${b.productType ?? 'product'} · ${formatWhen(b.createdAt)}`)),
                  statusPill(b.status, b.status.replaceAll('_', ' ')),
                ),
              ),
            )
          : h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, 'No blueprints yet'), h('p', null, 'Start one with the form: name it, pick a template, then add photos.')),
      );
    },
    (error) => replaceChildren(body, errorBox('Blueprints could not be loaded', describeError(error))),
  );

  async function create(event: Event) {
    event.preventDefault();
    if (!name.value.trim()) {
      replaceChildren(errors, errorBox('Name the blueprint', 'A name tells blueprints apart, e.g. the product line it is for.'));
      name.focus();
      return;
    }
    try {
      const view = await client.create({ name: name.value.trim(), ...(template.value && { template: template.value }) });
      navigate(`/blueprints/${view.id}`);
    } catch (error) {
      replaceChildren(errors, errorBox('The blueprint was not created', describeError(error)));
    }
  }

  root.append(
    h(
      'section',
      { class: 'page' },
      h(
        'div',
        { class: 'page-head' },
        h('h1', null, 'Defect blueprints'),
        h('p', { class: 'lede' }, 'Product photos and a list of defects in; realistic defect images with exact labels out — reviewed by you, exported as COCO, YOLO and MVTec datasets.'),
      ),
      h(
        'div',
        { class: 'blueprints-layout' },
        h('section', { class: 'card', 'aria-labelledby': 'bp-list-heading' }, h('h2', { id: 'bp-list-heading' }, 'Your blueprints'), body),
        h(
          'form',
          { class: 'card', onsubmit: create, 'aria-labelledby': 'bp-new-heading' },
          h('h2', { id: 'bp-new-heading' }, 'New blueprint'),
          h('div', { class: 'field' }, h('label', { for: 'bp-name' }, 'Name'), name),
          h('div', { class: 'field' }, h('label', { for: 'bp-new-template' }, 'Defect template'), template),
          h('button', { type: 'submit', class: 'button-primary' }, 'Create blueprint'),
          note,
          errors,
        ),
      ),
    ),
  );
  return () => {
    disposed = true;
  };
};
