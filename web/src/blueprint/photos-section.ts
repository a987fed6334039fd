import { blueprintApi, describeError } from '../api.ts';
import { errorBox, h, replaceChildren } from '../dom.ts';
import { checkImage } from '../image-check.ts';
import { storedImage } from './image.ts';
import type { BlueprintState } from './state.ts';

/** Step 1: the product photos (drop or choose; each checked by its bytes before upload). */
export function photosSection(state: BlueprintState): HTMLElement {
  const input = h('input', { type: 'file', id: 'bp-photos', class: 'visually-hidden', multiple: true, accept: 'image/jpeg,image/png,image/webp' });
  const zone = h(
    'label',
    { class: 'dropzone compact', for: 'bp-photos' },
    h('span', { class: 'dropzone-icon', 'aria-hidden': 'true' }),
    h('span', { class: 'dropzone-title' }, 'Drop product photos here, or choose files'),
    h('span', { class: 'dropzone-help' }, 'One product per photo, on a plain background works best · JPEG, PNG or WebP'),
  );
  const list = h('ul', { class: 'thumbs photo-list', 'aria-label': 'Product photos' });
  const status = h('p', { class: 'muted small', role: 'status' });
  const errors = h('div', { 'aria-live': 'polite' });

  async function upload(files: File[]) {
    const checked = await Promise.all(files.map(checkImage));
    const bad = checked.filter((c) => !c.ok);
    const good = checked.filter((c) => c.ok).map((c) => c.file);
    replaceChildren(errors, bad.length ? errorBox('Some files were left out', bad.map((b) => `${b.file.name}: ${b.reason}`).join('; ')) : null);
    if (!good.length) return;
    try {
      const result = await blueprintApi.uploadPhotos(state.id, good, (loaded, total) => {
        status.textContent = `Uploading ${good.length} ${good.length === 1 ? 'photo' : 'photos'}… ${Math.round((100 * loaded) / Math.max(1, total))}%`;
      });
      status.textContent = `Added ${result.objectIds.length} ${result.objectIds.length === 1 ? 'photo' : 'photos'}.`;
      await state.refresh(result.blueprint);
    } catch (error) {
      status.textContent = '';
      replaceChildren(errors, errorBox('The upload failed', describeError(error)));
    }
  }

  input.addEventListener('change', () => {
    void upload([...(input.files ?? [])]);
    input.value = '';
  });
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    void upload([...(event.dataTransfer?.files ?? [])]);
  });

  function render() {
    replaceChildren(
      list,
      state.view.objects.map((object) =>
        h(
          'li',
          { class: 'thumb' },
          storedImage(object.imageUrl, object.name, { loading: 'lazy' }),
          h('span', { class: 'thumb-name', title: `${object.name} · ${object.width}×${object.height}` }, object.name),
          h(
            'button',
            {
              type: 'button',
              class: 'thumb-remove',
              'aria-label': `Remove ${object.name}`,
              onclick: async () => {
                if (!confirm(`Remove ${object.name} and everything generated from it?`)) return;
                try {
                  await blueprintApi.client().removePhoto(state.id, object.id);
                  await state.refresh();
                } catch (error) {
                  replaceChildren(errors, errorBox('Could not remove the photo', describeError(error)));
                }
              },
            },
            '×',
          ),
        ),
      ),
    );
  }
  state.onChange(render);
  render();
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'bp-photos-heading' },
    h('h2', { id: 'bp-photos-heading' }, h('span', { class: 'step' }, '1'), 'Product photos'),
    input,
    zone,
    status,
    errors,
    list,
  );
}
