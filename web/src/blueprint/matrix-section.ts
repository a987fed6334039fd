import { blueprintApi, describeError } from '../api.ts';
import { errorBox, h, replaceChildren } from '../dom.ts';
import { storedImage } from './image.ts';
import { type BlueprintState, type Generation, isActive } from './state.ts';

/** What a cell says about a generation that has not finished: fal's own words where it gave them. */
function liveLabel(state: BlueprintState, g: Generation): string {
  const live = state.live.get(g.id);
  if (g.status === 'queued') return g.attempt ? `retrying (attempt ${g.attempt + 1})` : 'waiting';
  if (g.status === 'submitting') return 'sending to fal';
  if ((live?.falState ?? g.falState) === 'IN_QUEUE') return `fal queue #${(live?.queuePosition ?? g.queuePosition ?? 0) + 1}`;
  if ((live?.falState ?? g.falState) === 'IN_PROGRESS') return 'generating';
  return 'submitted';
}

/** Step 4: generate the photos × defects matrix and watch each cell, live. */
export function matrixSection(state: BlueprintState): HTMLElement {
  const modelSelect = h('select', { id: 'bp-model' });
  const countInput = h('input', { type: 'number', id: 'bp-count', min: 1, max: 8, value: 1 });
  const generateButton = h('button', { type: 'button', class: 'button-primary', onclick: () => void generate() }, 'Generate matrix');
  const cancelButton = h('button', { type: 'button', class: 'button-danger', onclick: () => void cancel() }, 'Cancel');
  const summary = h('p', { class: 'matrix-summary', role: 'status' });
  const table = h('div', { class: 'matrix-wrap' });
  const errors = h('div', { 'aria-live': 'polite' });
  const fail = (title: string) => (error: unknown) => replaceChildren(errors, errorBox(title, describeError(error)));

  async function generate() {
    try {
      if (modelSelect.value && modelSelect.value !== state.view.model) await blueprintApi.client().update(state.id, { model: modelSelect.value });
      await blueprintApi.client().generate(state.id, { count: Math.max(1, Math.min(8, Number(countInput.value) || 1)) });
      replaceChildren(errors);
      await state.refresh();
    } catch (error) {
      fail('Generation did not start')(error);
    }
  }

  async function cancel() {
    await blueprintApi.client().cancel(state.id).catch(fail('Could not cancel'));
    await state.refresh();
  }

  function cell(objectId: string, defectId: string) {
    const generations = state.view.generations.filter((g) => g.objectId === objectId && g.defectId === defectId);
    if (!generations.length) return h('td', { class: 'cell cell-empty' }, h('span', { class: 'muted small' }, '—'));
    return h(
      'td',
      { class: 'cell' },
      h(
        'div',
        { class: 'cell-items' },
        generations.map((g) => {
          if (g.status === 'completed') {
            return h(
              'a',
              { href: `#review-${g.id}`, class: `cell-thumb rating-${g.rating ?? 'unrated'}`, title: `${g.rating ?? 'not rated yet'} · seed ${g.seed}` },
              storedImage(g.imageUrl!, `Generated ${g.id}`, { loading: 'lazy' }),
            );
          }
          if (g.status === 'failed') return h('span', { class: 'cell-chip chip-failed', title: g.error ?? '' }, 'failed');
          if (g.status === 'canceled') return h('span', { class: 'cell-chip' }, 'canceled');
          return h('span', { class: 'cell-chip chip-active' }, h('span', { class: 'spinner small-spinner', 'aria-hidden': 'true' }), liveLabel(state, g));
        }),
      ),
    );
  }

  function render() {
    const { view, capabilities } = state;
    replaceChildren(modelSelect, capabilities.models.map((m) => h('option', { value: m.id, selected: m.id === view.model }, m.label)));
    const busy = view.generations.some((g) => isActive(g.status));
    generateButton.disabled = busy || !capabilities.generation || !view.objects.length || !view.defects.length;
    generateButton.title = capabilities.generation ? '' : 'Generation is off on this server (FAL_KEY is not set)';
    cancelButton.hidden = !busy;
    const count = (status: string) => view.generations.filter((g) => g.status === status).length;
    const total = view.generations.length;
    replaceChildren(
      summary,
      total
        ? [
            h('strong', null, `${count('completed')} of ${total} done`),
            count('failed') ? h('span', { class: 'bad' }, ` · ${count('failed')} failed`) : null,
            busy ? ` · ${total - count('completed') - count('failed') - count('canceled')} running` : null,
            !capabilities.webhooks && busy ? h('span', { class: 'muted small' }, ' · polling fal (no RECON_PUBLIC_URL for webhooks)') : null,
          ]
        : 'Nothing generated yet.',
    );
    replaceChildren(
      table,
      view.objects.length && view.defects.length
        ? h(
            'table',
            { class: 'matrix' },
            h('caption', { class: 'visually-hidden' }, 'Generated images by photo and defect'),
            h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Photo'), view.defects.map((d) => h('th', { scope: 'col' }, d.name)))),
            h(
              'tbody',
              null,
              view.objects.map((o) =>
                h('tr', null, h('th', { scope: 'row' }, h('div', { class: 'row-photo' }, storedImage(o.imageUrl, '', { loading: 'lazy' }), h('span', null, o.name))), view.defects.map((d) => cell(o.id, d.id))),
              ),
            ),
          )
        : h('p', { class: 'empty' }, 'The matrix appears once the blueprint has photos and defects.'),
    );
  }
  state.onChange(render);
  render();

  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'bp-matrix-heading' },
    h('h2', { id: 'bp-matrix-heading' }, h('span', { class: 'step' }, '4'), 'Generate'),
    h(
      'div',
      { class: 'inline-form' },
      h('div', { class: 'field grow' }, h('label', { for: 'bp-model' }, 'Model'), modelSelect),
      h('div', { class: 'field narrow-field' }, h('label', { for: 'bp-count' }, 'Per region'), countInput),
      generateButton,
      cancelButton,
    ),
    summary,
    errors,
    table,
  );
}
