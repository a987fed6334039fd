import { api, describeError, type EngineInfo, uploadImages } from '../api.ts';
import { errorBox, h, replaceChildren, spinner } from '../dom.ts';
import { formatBytes } from '../../../src/sdk/format.ts';
import { type CheckedFile, checkImage } from '../image-check.ts';
import { navigate, type Page } from '../router.ts';
import { type SettingsForm, settingsForm } from '../settings-form.ts';

interface Picked {
  file: File;
  url: string | undefined;
  mime: string;
}

export const newRunPage: Page = (root) => {
  document.title = 'New run · Recon';
  const picked: Picked[] = [];
  const rejected: CheckedFile[] = [];
  let engines: EngineInfo[] = [];
  let engine: EngineInfo | undefined;
  let form: SettingsForm | undefined;
  let busy = false;
  const upload = new AbortController();

  const fileInput = h('input', {
    type: 'file',
    id: 'images',
    class: 'visually-hidden',
    multiple: true,
    accept: 'image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif,video/mp4,video/quicktime,video/webm,.mov,.webm',
    'aria-describedby': 'images-help',
    onchange: () => {
      void addFiles([...(fileInput.files ?? [])]);
      fileInput.value = '';
    },
  });
  const dropzone = h(
    'label',
    { class: 'dropzone', for: 'images' },
    h('span', { class: 'dropzone-icon', 'aria-hidden': 'true' }),
    h('span', { class: 'dropzone-title' }, 'Drop photos here, or choose files'),
    h('span', { class: 'dropzone-help', id: 'images-help' }, 'JPEG, PNG, WebP or HEIC, or a video (MP4, MOV, WebM: the sharpest frames are used) · overlapping views of one scene work best'),
  );
  const thumbs = h('ul', { class: 'thumbs', 'aria-label': 'Selected photos' });
  const summary = h('p', { class: 'summary', 'aria-live': 'polite' });
  const rejections = h('div', { 'aria-live': 'polite' });
  const engineList = h('div', { class: 'engine-list', role: 'radiogroup', 'aria-labelledby': 'engine-heading' }, spinner('Loading engines…'));
  const settingsHost = h('div', null);
  const resetButton = h('button', { type: 'button', class: 'button-quiet', onclick: () => form?.reset() }, 'Reset to defaults');
  const submit = h('button', { type: 'submit', class: 'button-primary', disabled: true }, 'Start reconstruction');
  const hint = h('p', { class: 'submit-hint muted', id: 'submit-hint' });
  const progressBar = h('progress', { class: 'upload-progress', max: 1, value: 0, hidden: true, 'aria-label': 'Upload progress' });
  const progressText = h('p', { class: 'muted', role: 'status' });
  const errorHost = h('div', null);
  submit.setAttribute('aria-describedby', 'submit-hint');

  for (const type of ['dragenter', 'dragover'] as const) {
    dropzone.addEventListener(type, (event) => {
      event.preventDefault();
      dropzone.classList.add('dragging');
    });
  }
  dropzone.addEventListener('dragleave', () => dropzone.classList.remove('dragging'));
  dropzone.addEventListener('drop', (event) => {
    event.preventDefault();
    dropzone.classList.remove('dragging');
    void addFiles([...(event.dataTransfer?.files ?? [])]);
  });
  // A file dropped beside the zone must not replace the app with the file.
  const swallow = (event: DragEvent) => event.preventDefault();
  window.addEventListener('dragover', swallow);
  window.addEventListener('drop', swallow);

  async function addFiles(files: File[]) {
    const known = new Set(picked.map((p) => `${p.file.name}:${p.file.size}:${p.file.lastModified}`));
    const checked = await Promise.all(files.filter((f) => !known.has(`${f.name}:${f.size}:${f.lastModified}`)).map(checkImage));
    rejected.length = 0;
    for (const result of checked) {
      if (!result.ok) rejected.push(result);
      else {
        // Chromium and Firefox cannot draw HEIC, and a video is no <img>; those get a placeholder tile.
        const drawable = result.mime!.startsWith('image/') && result.mime !== 'image/heic';
        picked.push({ file: result.file, mime: result.mime!, url: drawable ? URL.createObjectURL(result.file) : undefined });
      }
    }
    renderFiles();
  }

  function removeAt(index: number) {
    const [gone] = picked.splice(index, 1);
    if (gone?.url) URL.revokeObjectURL(gone.url);
    renderFiles();
  }

  function renderFiles() {
    replaceChildren(
      thumbs,
      picked.map((p, index) =>
        h(
          'li',
          { class: 'thumb' },
          p.url ? h('img', { src: p.url, alt: '', loading: 'lazy' }) : h('span', { class: 'thumb-placeholder' }, p.mime.split('/')[1]),
          h('span', { class: 'thumb-name', title: p.file.name }, p.file.name),
          h('button', { type: 'button', class: 'thumb-remove', 'aria-label': `Remove ${p.file.name}`, onclick: () => removeAt(index) }, '×'),
        ),
      ),
    );
    const bytes = picked.reduce((sum, p) => sum + p.file.size, 0);
    replaceChildren(
      summary,
      picked.length
        ? [
            h('strong', null, `${picked.length} ${picked.length === 1 ? 'photo' : 'photos'}`),
            ` · ${formatBytes(bytes)} `,
            h(
              'button',
              {
                type: 'button',
                class: 'button-quiet',
                onclick: () => {
                  for (const p of picked) if (p.url) URL.revokeObjectURL(p.url);
                  picked.length = 0;
                  renderFiles();
                },
              },
              'Clear all',
            ),
          ]
        : 'No photos chosen yet.',
    );
    replaceChildren(
      rejections,
      rejected.length
        ? h(
            'div',
            { class: 'notice notice-warn', role: 'alert' },
            h('strong', null, `${rejected.length} ${rejected.length === 1 ? 'file was' : 'files were'} left out`),
            h(
              'ul',
              { class: 'rejections' },
              rejected.map((r) => h('li', null, h('span', { class: 'mono' }, r.file.name), ` — ${r.reason}`)),
            ),
          )
        : null,
    );
    updateSubmit();
  }

  function updateSubmit() {
    let reason = '';
    if (!engine) reason = engines.length ? 'Choose an available engine.' : '';
    else if (!engine.available) reason = `${engine.title} is not available: ${engine.reason ?? 'unknown reason'}`;
    // A video gives many frames, so it satisfies any minimum.
    else if (picked.length < engine.limits.minImages && !picked.some((p) => p.mime.startsWith('video/'))) {
      const need = engine.limits.minImages;
      reason = `${engine.title} needs at least ${need} ${need === 1 ? 'photo' : 'photos'}.`;
    } else if (picked.length > engine.limits.maxImages) reason = `${engine.title} takes at most ${engine.limits.maxImages} photos.`;
    // No engine and no reason: the engines are still loading, or failed to (said beside them).
    submit.disabled = busy || reason !== '' || !engine;
    hint.textContent = busy || !engine ? reason : reason || `Ready: ${picked.length} photos with ${engine.title}.`;
  }

  function chooseEngine(next: EngineInfo) {
    engine = next;
    form = settingsForm(next.settingsSchema);
    replaceChildren(settingsHost, form.element);
    for (const input of engineList.querySelectorAll<HTMLInputElement>('input[name=engine]')) input.checked = input.value === next.id;
    updateSubmit();
  }

  function renderEngines() {
    replaceChildren(
      engineList,
      engines.map((e) => {
        const id = `engine-${e.id}`;
        return h(
          'div',
          { class: `engine-option${e.available ? '' : ' unavailable'}` },
          h('input', {
            type: 'radio',
            name: 'engine',
            id,
            value: e.id,
            disabled: !e.available,
            'aria-describedby': `${id}-desc`,
            onchange: () => chooseEngine(e),
          }),
          h(
            'label',
            { for: id },
            h('span', { class: 'engine-title' }, e.title, e.default ? h('span', { class: 'tag' }, 'default') : null),
            h(
              'span',
              { class: 'engine-desc', id: `${id}-desc` },
              e.description,
              h(
                'span',
                { class: `engine-state ${e.available ? 'ok' : 'bad'}` },
                e.available ? `Available · ${e.limits.minImages}–${e.limits.maxImages} photos` : `Unavailable — ${e.reason ?? 'no reason given'}`,
              ),
            ),
          ),
        );
      }),
    );
  }

  async function start(event: SubmitEvent) {
    event.preventDefault();
    if (!engine || !form || submit.disabled) return;
    const settingsForm = event.target as HTMLFormElement;
    if (!settingsForm.reportValidity()) return;
    busy = true;
    updateSubmit();
    replaceChildren(errorHost);
    let runId: string | undefined;
    try {
      progressText.textContent = 'Creating the run…';
      const run = await api.createRun({ engine: engine.id, settings: form.values() });
      runId = run.runId;
      progressBar.hidden = false;
      const files = picked.map((p) => p.file);
      await uploadImages(
        run.runId,
        files,
        (loaded, total) => {
          progressBar.value = total ? loaded / total : 0;
          progressText.textContent = `Uploading ${files.length} photos… ${formatBytes(loaded)} of ${formatBytes(total)}`;
        },
        upload.signal,
      );
      progressText.textContent = 'Queuing…';
      await api.process(run.runId);
      navigate(`/runs/${run.runId}`);
    } catch (error) {
      if ((error as Error).name === 'AbortError') return;
      busy = false;
      progressBar.hidden = true;
      progressText.textContent = '';
      replaceChildren(
        errorHost,
        errorBox(
          runId ? 'The run could not be started' : 'The run could not be created',
          describeError(error),
          runId ? 'Fix the photos or settings and try again; the half-made run stays in History.' : undefined,
        ),
      );
      updateSubmit();
    }
  }

  root.append(
    h(
      'section',
      { class: 'page' },
      h(
        'div',
        { class: 'page-head' },
        h('h1', null, 'New reconstruction'),
        h('p', { class: 'lede' }, 'Photos of a scene from many viewpoints in — a 3D point cloud and the cameras that took them out.'),
      ),
      h(
        'form',
        { class: 'new-run', novalidate: false, onsubmit: start },
        h(
          'section',
          { class: 'card', 'aria-labelledby': 'photos-heading' },
          h('h2', { id: 'photos-heading' }, h('span', { class: 'step' }, '1'), 'Photos'),
          fileInput,
          dropzone,
          summary,
          rejections,
          thumbs,
        ),
        h(
          'div',
          { class: 'side' },
          h('section', { class: 'card', 'aria-labelledby': 'engine-heading' }, h('h2', { id: 'engine-heading' }, h('span', { class: 'step' }, '2'), 'Engine'), engineList),
          h(
            'section',
            { class: 'card', 'aria-labelledby': 'settings-heading' },
            h('div', { class: 'card-head' }, h('h2', { id: 'settings-heading' }, h('span', { class: 'step' }, '3'), 'Settings'), resetButton),
            settingsHost,
          ),
          h('div', { class: 'submit-bar' }, submit, hint, progressBar, progressText, errorHost),
        ),
      ),
    ),
  );
  renderFiles();

  api
    .engines()
    .then((answer) => {
      // Engines that only run as a stage of a pipeline (they read an earlier stage's output) are chosen in the pipeline's settings.
      engines = answer.engines.filter((e) => !e.consumes?.length);
      renderEngines();
      const preferred = engines.find((e) => e.id === answer.default && e.available) ?? engines.find((e) => e.available);
      if (preferred) chooseEngine(preferred);
      else {
        replaceChildren(settingsHost, h('p', { class: 'muted' }, 'No engine is available on this server.'));
        updateSubmit();
      }
    })
    .catch((error) => replaceChildren(engineList, errorBox('Could not load the engines', describeError(error))));

  return () => {
    upload.abort();
    window.removeEventListener('dragover', swallow);
    window.removeEventListener('drop', swallow);
    for (const p of picked) if (p.url) URL.revokeObjectURL(p.url);
  };
};
