import type { TemplateView } from '../../../src/sdk/client.ts';
import { blueprintApi, describeError } from '../api.ts';
import { errorBox, h, replaceChildren, spinner, uid } from '../dom.ts';
import type { BlueprintState } from './state.ts';

/** Step 2: defect classes — custom, from a template, or suggested by a vision model. */
export function defectsSection(state: BlueprintState): HTMLElement {
  const errors = h('div', { 'aria-live': 'polite' });
  const chips = h('ul', { class: 'defect-list', 'aria-label': 'Defect classes' });
  const nameInput = h('input', { type: 'text', id: 'bp-defect-name', placeholder: 'e.g. hairline crack', maxlength: 80 });
  const descriptionInput = h('input', { type: 'text', id: 'bp-defect-description', placeholder: 'what it looks like (optional)', maxlength: 500 });
  const templateSelect = h('select', { id: 'bp-template' }, h('option', { value: '' }, 'Loading templates…'));
  const suggestButton = h('button', { type: 'button', onclick: () => void suggest() }, 'Suggest defects');
  const suggestions = h('div', { class: 'suggestions' });
  const fail = (title: string) => (error: unknown) => replaceChildren(errors, errorBox(title, describeError(error)));

  blueprintApi
    .client()
    .templates()
    .then((templates: TemplateView[]) =>
      replaceChildren(
        templateSelect,
        h('option', { value: '' }, 'Choose a template…'),
        templates.map((t) => h('option', { value: `${t.id}@${t.version}` }, `${t.name} — ${t.defects.map((d) => d.name).join(', ')}`)),
      ),
    )
    .catch(fail('Templates could not be loaded'));

  async function add(event: Event) {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!name) return;
    try {
      const result = await blueprintApi.client().addDefects(state.id, [{ name, ...(descriptionInput.value.trim() && { description: descriptionInput.value.trim() }) }]);
      nameInput.value = '';
      descriptionInput.value = '';
      replaceChildren(errors);
      await state.refresh(result.blueprint);
      nameInput.focus();
    } catch (error) {
      fail('The defect was not added')(error);
    }
  }

  async function applyTemplate() {
    if (!templateSelect.value) return;
    try {
      const result = await blueprintApi.client().applyTemplate(state.id, templateSelect.value);
      templateSelect.value = '';
      await state.refresh(result.blueprint);
    } catch (error) {
      fail('The template was not applied')(error);
    }
  }

  async function suggest() {
    try {
      await blueprintApi.client().suggest(state.id);
      await state.refresh();
    } catch (error) {
      fail('No suggestions')(error);
    }
  }

  function render() {
    const { view, capabilities } = state;
    replaceChildren(
      chips,
      view.defects.map((defect) =>
        h(
          'li',
          { class: 'defect-chip' },
          h('span', { class: 'defect-id', title: 'COCO category id' }, String(defect.categoryId)),
          h('span', { class: 'defect-text' }, h('span', { class: 'defect-name' }, defect.name), defect.description ? h('span', { class: 'muted small', title: defect.description }, defect.description) : null),
          h('span', { class: `tag tag-${defect.source}` }, defect.template ?? defect.source),
          h(
            'button',
            {
              type: 'button',
              class: 'button-quiet',
              'aria-label': `Remove ${defect.name}`,
              onclick: async () => {
                if (!confirm(`Remove "${defect.name}" with its prompts and images?`)) return;
                await blueprintApi.client().removeDefect(state.id, defect.id).catch(fail('The defect was not removed'));
                await state.refresh();
              },
            },
            '×',
          ),
        ),
      ),
    );
    suggestButton.hidden = !capabilities.suggestions;
    suggestButton.disabled = !view.objects.length || view.suggestions.some((s) => s.status !== 'completed' && s.status !== 'failed' && s.status !== 'canceled');
    const latest = view.suggestions.at(-1);
    const existing = new Set(view.defects.map((d) => d.name.toLowerCase()));
    replaceChildren(
      suggestions,
      !latest
        ? null
        : latest.status === 'failed'
          ? errorBox('The suggestion failed', latest.error ?? '', latest.errorHint ?? undefined)
          : latest.status !== 'completed'
            ? spinner('Asking the vision model what could go wrong with this product…')
            : h(
                'div',
                { class: 'suggestion-box' },
                h('p', null, h('strong', null, 'Suggested'), latest.productType ? ` for a ${latest.productType}` : '', ':'),
                h(
                  'ul',
                  { class: 'suggestion-list' },
                  latest.defects.map((d) =>
                    h(
                      'li',
                      null,
                      h('div', null, h('strong', null, d.name), ` — ${d.description}`, d.rationale ? h('p', { class: 'muted small' }, d.rationale) : null),
                      existing.has(d.name.toLowerCase())
                        ? h('span', { class: 'muted small' }, 'added')
                        : h(
                            'button',
                            {
                              type: 'button',
                              onclick: async () => {
                                const result = await blueprintApi
                                  .client()
                                  .addDefects(state.id, [{ name: d.name, description: d.description, rationale: d.rationale, source: 'suggested' }])
                                  .catch(fail('The defect was not added'));
                                if (result) await state.refresh(result.blueprint);
                              },
                            },
                            'Add',
                          ),
                    ),
                  ),
                ),
              ),
    );
  }
  state.onChange(render);
  render();
  const nameId = uid('label');
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'bp-defects-heading' },
    h('div', { class: 'card-head' }, h('h2', { id: 'bp-defects-heading' }, h('span', { class: 'step' }, '2'), 'Defects'), suggestButton),
    chips,
    h(
      'form',
      { class: 'inline-form', onsubmit: add, 'aria-labelledby': nameId },
      h('span', { id: nameId, class: 'visually-hidden' }, 'Add a defect'),
      h('div', { class: 'field' }, h('label', { for: 'bp-defect-name' }, 'New defect'), nameInput),
      h('div', { class: 'field grow' }, h('label', { for: 'bp-defect-description' }, 'Description'), descriptionInput),
      h('button', { type: 'submit', class: 'button-primary' }, 'Add'),
    ),
    h(
      'div',
      { class: 'inline-form' },
      h('div', { class: 'field grow' }, h('label', { for: 'bp-template' }, 'Or start from a template'), templateSelect),
      h('button', { type: 'button', onclick: () => void applyTemplate() }, 'Apply'),
    ),
    suggestions,
    errors,
  );
}
