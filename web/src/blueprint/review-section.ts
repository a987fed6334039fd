import { blueprintApi, describeError } from '../api.ts';
import { errorBox, h, replaceChildren } from '../dom.ts';
import { labelOverlay, storedImage } from './image.ts';
import { type BlueprintState, type Generation, isActive } from './state.ts';

type Prompt = BlueprintState['view']['prompts'][number];
type Rating = 'approved' | 'rejected' | 'needs_refinement';

const RATINGS: { value: Rating; label: string }[] = [
  { value: 'approved', label: '✓ Approve' },
  { value: 'needs_refinement', label: '↻ Refine' },
  { value: 'rejected', label: '✗ Reject' },
];
const STRATEGY: Record<string, string> = { seed: 'seed', manual_edit: 'edited', evolved: 'evolved' };

/** The prompt and its ancestors, root first. */
function chain(prompts: Prompt[], id: string): Prompt[] {
  const byId = new Map(prompts.map((p) => [p.id, p]));
  const out: Prompt[] = [];
  for (let p = byId.get(id); p && !out.includes(p); p = p.parentId ? byId.get(p.parentId) : undefined) out.unshift(p);
  return out;
}

/**
 * Step 5: review what came back — approve, reject or ask for a refinement (with feedback), look
 * at the label, edit or evolve the prompt, regenerate, follow the prompt's lineage. Cards are
 * rebuilt only when their generation changed, never while one is being typed in.
 */
export function reviewSection(state: BlueprintState): HTMLElement {
  const grid = h('div', { class: 'review-grid' });
  const filter = h(
    'select',
    { id: 'bp-review-filter', onchange: () => render() },
    h('option', { value: 'all' }, 'All images'),
    h('option', { value: 'unrated' }, 'Not rated yet'),
    h('option', { value: 'approved' }, 'Approved'),
    h('option', { value: 'needs_refinement' }, 'Needs refinement'),
    h('option', { value: 'rejected' }, 'Rejected'),
    h('option', { value: 'failed' }, 'Failed'),
  );
  const cards = new Map<string, { el: HTMLElement; signature: string }>();

  function signature(g: Generation): string {
    const { view } = state;
    const children = view.prompts.filter((p) => p.defectId === g.defectId).length;
    const evolving = view.evolutions.filter((e) => isActive(e.status)).length;
    return JSON.stringify([g.status, g.rating, g.feedback, children, evolving, state.capabilities.evolution]);
  }

  function card(g: Generation): HTMLElement {
    const { view, capabilities } = state;
    const object = view.objects.find((o) => o.id === g.objectId);
    const defect = view.defects.find((d) => d.id === g.defectId);
    const lineage = chain(view.prompts, g.promptId);
    const prompt = lineage.at(-1);
    const errors = h('div', { 'aria-live': 'polite' });
    const fail = (title: string) => (error: unknown) => replaceChildren(errors, errorBox(title, describeError(error)));
    const feedback = h('input', { type: 'text', class: 'feedback', value: g.feedback ?? '', placeholder: 'Feedback (what is wrong, what to keep)', 'aria-label': `Feedback on ${g.id}`, maxlength: 2000 });
    const showLabel = h('input', { type: 'checkbox', id: `label-${g.id}` });
    const photo = view.objects.find((o) => o.id === g.objectId);
    const labelImage = g.maskUrl && g.bbox && photo ? labelOverlay(g.maskUrl, g.bbox, photo) : null;
    if (labelImage) labelImage.hidden = true;
    showLabel.addEventListener('change', () => {
      if (labelImage) labelImage.hidden = !showLabel.checked;
    });
    const editor = h('textarea', { class: 'prompt-editor', rows: 3, 'aria-label': 'Edited prompt', hidden: true }, prompt?.text ?? '');
    const saveEdit = h('button', { type: 'button', class: 'button-primary', hidden: true }, 'Save and regenerate');

    const rateButtons = RATINGS.map((r) =>
      h('button', { type: 'button', class: `rate rate-${r.value}`, 'aria-pressed': String(g.rating === r.value), onclick: () => void rate(r.value) }, r.label),
    );
    const rate = async (rating: Rating) => {
      try {
        await blueprintApi.client().rate(state.id, g.id, rating, feedback.value.trim() || undefined);
        // Shown at once: the card keeps its focus, so the refresh below leaves it as it is.
        for (const [i, button] of rateButtons.entries()) button.setAttribute('aria-pressed', String(RATINGS[i]!.value === rating));
        rateButtons[0]!.closest('article')!.className = `review-card rating-${rating}`;
        await state.refresh();
      } catch (error) {
        fail('The rating was not saved')(error);
      }
    };
    const regenerate = async (promptId?: string) => {
      try {
        await blueprintApi.client().regenerate(state.id, g.id, promptId ? { promptId } : {});
        await state.refresh();
      } catch (error) {
        fail('Could not regenerate')(error);
      }
    };
    saveEdit.addEventListener('click', async () => {
      const text = editor.value.trim();
      if (!text || !prompt) return;
      try {
        const edited = await blueprintApi.client().editPrompt(state.id, prompt.id, text);
        await blueprintApi.client().regenerate(state.id, g.id, { promptId: edited.promptIds[0]! });
        await state.refresh();
      } catch (error) {
        fail('The prompt was not saved')(error);
      }
    });
    const children = view.prompts.filter((p) => prompt && p.parentId === prompt.id);
    const evolving = view.evolutions.some((e) => e.promptId === prompt?.id && isActive(e.status));

    return h(
      'article',
      { class: `review-card rating-${g.rating ?? (g.status === 'failed' ? 'failed' : 'unrated')}`, id: `review-${g.id}`, 'aria-label': `${object?.name} × ${defect?.name}` },
      g.status === 'completed'
        ? h('figure', { class: 'review-figure' }, storedImage(g.imageUrl!, `${defect?.name} on ${object?.name}`, { loading: 'lazy' }), labelImage)
        : h('div', { class: 'review-failed' }, errorBox('Generation failed', g.error ?? '', g.errorHint ?? undefined), g.fieldErrors?.length ? h('ul', { class: 'small' }, g.fieldErrors.map((f) => h('li', null, h('span', { class: 'mono' }, f.field), `: ${f.message}`))) : null),
      h(
        'div',
        { class: 'review-body' },
        h('p', { class: 'review-title' }, h('strong', null, defect?.name ?? '?'), ' on ', object?.name ?? '?'),
        h('p', { class: 'muted small' }, `seed ${g.seed}`, g.bbox ? ` · box [${g.bbox.join(', ')}] · ${g.area} px` : ''),
        g.status === 'completed'
          ? [
              h('label', { class: 'check small', for: `label-${g.id}` }, showLabel, ' Show label'),
              h(
                'div',
                { class: 'toolbar', role: 'group', 'aria-label': 'Rating' },
                rateButtons,
              ),
              feedback,
            ]
          : null,
        h(
          'details',
          { class: 'lineage' },
          h('summary', null, 'Prompt', lineage.length > 1 ? ` · ${lineage.length} versions` : ''),
          h(
            'ol',
            { class: 'lineage-list' },
            lineage.map((p) =>
              h(
                'li',
                { class: p.id === g.promptId ? 'current' : '' },
                h('span', { class: `tag tag-${p.strategy}` }, STRATEGY[p.strategy] ?? p.strategy),
                p.stats.approvalRate !== null ? h('span', { class: 'muted small' }, ` ${Math.round(p.stats.approvalRate * 100)}% approved of ${p.stats.approved + p.stats.rejected + p.stats.needsRefinement}`) : null,
                h('p', { class: 'prompt-text' }, p.text),
              ),
            ),
          ),
          children.length
            ? h(
                'div',
                { class: 'children' },
                h('p', { class: 'small' }, h('strong', null, 'Newer prompts from this one:')),
                children.map((c) =>
                  h('div', { class: 'child-prompt' }, h('span', { class: `tag tag-${c.strategy}` }, STRATEGY[c.strategy] ?? c.strategy), h('p', { class: 'prompt-text' }, c.text), h('button', { type: 'button', onclick: () => void regenerate(c.id) }, 'Use it')),
                ),
              )
            : null,
          editor,
          saveEdit,
        ),
        h(
          'div',
          { class: 'toolbar' },
          h('button', { type: 'button', onclick: () => void regenerate() }, 'Regenerate'),
          h(
            'button',
            {
              type: 'button',
              onclick: (event: Event) => {
                editor.hidden = saveEdit.hidden = false;
                (event.currentTarget as HTMLElement).closest('article')?.querySelector('details')?.setAttribute('open', '');
                editor.focus();
              },
            },
            'Edit prompt',
          ),
          capabilities.evolution && prompt
            ? h(
                'button',
                {
                  type: 'button',
                  disabled: evolving,
                  title: 'Ask a language model for better prompts from the ratings and feedback so far',
                  onclick: async () => {
                    await blueprintApi.client().evolve(state.id, prompt.id).catch(fail('Could not evolve the prompt'));
                    await state.refresh();
                  },
                },
                evolving ? 'Evolving…' : 'Evolve prompt',
              )
            : null,
        ),
        errors,
      ),
    );
  }

  function render() {
    const wanted = filter.value;
    const shown = state.view.generations
      .filter((g) => g.status === 'completed' || g.status === 'failed')
      .filter((g) => wanted === 'all' || (wanted === 'failed' ? g.status === 'failed' : wanted === 'unrated' ? g.status === 'completed' && !g.rating : g.rating === wanted));
    const els = shown.map((g) => {
      const current = cards.get(g.id);
      const sig = signature(g);
      if (current && (current.signature === sig || current.el.contains(document.activeElement))) return current.el;
      const el = card(g);
      cards.set(g.id, { el, signature: sig });
      return el;
    });
    replaceChildren(grid, els.length ? els : h('p', { class: 'empty' }, state.view.generations.length ? 'Nothing matches this filter.' : 'Generated images appear here for review.'));
  }
  state.onChange(render);
  render();

  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'bp-review-heading' },
    h('div', { class: 'card-head' }, h('h2', { id: 'bp-review-heading' }, h('span', { class: 'step' }, '5'), 'Review'), h('div', { class: 'field inline-field' }, h('label', { for: 'bp-review-filter' }, 'Show'), filter)),
    grid,
  );
}
