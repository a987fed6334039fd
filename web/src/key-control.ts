// The API key UI: a header button opening a dialog to save or forget the key, and a prompt above
// the page when the server answers 401. Saving checks the key first, then reloads the page's data.
import { getApiKey, keyEvents, setApiKey } from './api-key.ts';
import { checkApiKey } from './api.ts';
import { h, replaceChildren, uid } from './dom.ts';
import { navigate } from './router.ts';

const SVG = 'http://www.w3.org/2000/svg';

function keyIcon(): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'key-icon');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', 'M7.5 14.5a4 4 0 1 1 3.46-6H21v3h-2v3h-3v-3h-5.04a4 4 0 0 1-3.46 3Zm0-2.5a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3Z');
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}

const rerender = () => navigate(location.pathname + location.search + location.hash, { replace: true });

/** The key form: a password field, Save, and Forget when a key is saved. */
function keyForm(options: { onDone: () => void; cancel?: () => void }) {
  const inputId = uid('api-key');
  const helpId = `${inputId}-help`;
  const errorId = `${inputId}-error`;
  const input = h('input', {
    type: 'password',
    id: inputId,
    name: 'apiKey',
    autocomplete: 'off',
    spellcheck: 'false',
    autocapitalize: 'off',
    placeholder: 'Paste the key',
    'aria-describedby': `${helpId} ${errorId}`,
  });
  const reveal = h('button', { type: 'button', class: 'button-quiet key-reveal', 'aria-pressed': 'false', 'aria-controls': inputId }, 'Show');
  reveal.addEventListener('click', () => {
    const shown = input.type === 'password';
    input.type = shown ? 'text' : 'password';
    reveal.setAttribute('aria-pressed', String(shown));
    reveal.textContent = shown ? 'Hide' : 'Show';
  });
  const error = h('p', { class: 'field-error', id: errorId, 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'button-primary' }, 'Save key');
  const forget = h('button', { type: 'button', class: 'button-danger' }, 'Forget key');
  forget.addEventListener('click', () => {
    setApiKey(undefined);
    input.value = '';
    announce('API key forgotten.');
    options.onDone();
    rerender();
  });

  const form = h(
    'form',
    {
      class: 'key-form',
      onsubmit: async (event: SubmitEvent) => {
        event.preventDefault();
        const key = input.value.trim();
        if (!key) {
          error.textContent = 'Enter a key first.';
          input.focus();
          return;
        }
        save.disabled = true;
        error.textContent = '';
        const verdict = await checkApiKey(key);
        save.disabled = false;
        if (verdict === 'refused') {
          error.textContent = 'The server does not accept this key: it is unknown or has been revoked.';
          input.setAttribute('aria-invalid', 'true');
          input.focus();
          return;
        }
        // An unreachable server is no reason to lose what was typed: keep the key, retry anyway.
        input.removeAttribute('aria-invalid');
        setApiKey(key);
        input.value = '';
        announce('API key saved.');
        options.onDone();
        rerender();
      },
    },
    h(
      'div',
      { class: 'field' },
      h('label', { for: inputId }, 'API key'),
      h('div', { class: 'key-input' }, input, reveal),
      h('p', { class: 'field-help', id: helpId }, 'Kept in this browser only (local storage) and sent with every request to this server.'),
      error,
    ),
    h('div', { class: 'form-actions' }, save, forget, options.cancel ? h('button', { type: 'button', class: 'button-quiet', onclick: options.cancel }, 'Cancel') : null),
  );
  const refresh = () => {
    forget.hidden = !getApiKey();
    error.textContent = '';
    input.removeAttribute('aria-invalid');
  };
  refresh();
  return { form, input, refresh };
}

const live = h('p', { class: 'visually-hidden', role: 'status' });
function announce(text: string) {
  live.textContent = '';
  setTimeout(() => {
    live.textContent = text;
  }, 50);
}

const serverHint = () => [
  'Ask whoever runs it for a key, or create one on the server machine with ',
  h('code', null, 'recon keys create'),
  '.',
];

/** Puts the key button in the header and the 401 prompt above `main`. */
export function startKeyControl(header: HTMLElement, main: HTMLElement) {
  const state = h('span', { class: 'key-state' });
  const button = h('button', { type: 'button', class: 'key-button', 'aria-haspopup': 'dialog' }, keyIcon(), h('span', { class: 'key-label' }, 'API key'), state);

  const titleId = uid('key-dialog-title');
  const dialog = h('dialog', { class: 'key-dialog', 'aria-labelledby': titleId });
  const dialogForm = keyForm({ onDone: () => dialog.close(), cancel: () => dialog.close() });
  const dialogStatus = h('p', { class: 'muted small' });
  dialog.append(
    h('h2', { id: titleId, class: 'key-title' }, 'API key'),
    h('p', null, 'A Recon server that requires keys refuses requests without one. ', serverHint()),
    dialogStatus,
    dialogForm.form,
  );
  // A click on the backdrop (outside the box) closes it, like Escape.
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) dialog.close();
  });

  const bannerTitleId = uid('key-banner-title');
  const bannerTitle = h('h2', { id: bannerTitleId, class: 'key-banner-title' });
  const bannerText = h('p', null);
  const bannerForm = keyForm({ onDone: () => hideBanner() });
  const banner = h(
    'section',
    { class: 'key-banner', 'aria-labelledby': bannerTitleId, hidden: true },
    h('div', { class: 'key-banner-inner' }, h('div', { class: 'key-banner-text' }, keyIcon(), h('div', null, bannerTitle, bannerText)), bannerForm.form),
  );

  function showBanner(hadKey: boolean) {
    if (dialog.open) return;
    const wasHidden = banner.hidden;
    replaceChildren(bannerTitle, hadKey ? 'The saved API key was refused' : 'This server needs an API key');
    replaceChildren(
      bannerText,
      hadKey ? 'It is unknown to this server or has been revoked. Enter another key. ' : 'Every request was refused without one. ',
      serverHint(),
    );
    banner.hidden = false;
    if (wasHidden) {
      bannerForm.refresh();
      announce(hadKey ? 'The saved API key was refused. Enter another key.' : 'This server needs an API key.');
    }
  }
  function hideBanner() {
    banner.hidden = true;
  }

  function update() {
    const key = getApiKey();
    state.className = `key-state ${key ? 'key-set' : 'key-unset'}`;
    state.textContent = key ? 'saved' : 'not set';
    button.title = key ? `API key …${key.slice(-4)} is saved in this browser` : 'No API key saved in this browser';
    replaceChildren(dialogStatus, key ? ['A key ending in ', h('code', null, key.slice(-4)), ' is saved in this browser.'] : 'No key is saved in this browser.');
  }

  button.addEventListener('click', () => {
    update();
    dialogForm.refresh();
    dialog.showModal();
    dialogForm.input.focus();
  });
  keyEvents.addEventListener('change', () => {
    update();
    if (getApiKey()) hideBanner();
  });
  keyEvents.addEventListener('unauthorized', (event) => showBanner((event as CustomEvent<{ hadKey: boolean }>).detail.hadKey));

  update();
  header.append(h('div', { class: 'top-tools' }, button), dialog, live);
  main.before(banner);
}
