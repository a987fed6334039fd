// The API key this browser sends, kept in localStorage, and the news about it the UI listens to:
// `change` when it is saved or forgotten, `unauthorized` when the server answered 401.
const STORAGE_KEY = 'recon.apiKey';

export const keyEvents = new EventTarget();

let current: string | undefined = read();

function read(): string | undefined {
  try {
    return localStorage.getItem(STORAGE_KEY)?.trim() || undefined;
  } catch {
    return undefined; // storage blocked: the key lives only for this page
  }
}

export const getApiKey = () => current;

/** Saves (or, with undefined, forgets) the key and tells the listeners. */
export function setApiKey(key: string | undefined) {
  current = key?.trim() || undefined;
  try {
    if (current) localStorage.setItem(STORAGE_KEY, current);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {}
  keyEvents.dispatchEvent(new Event('change'));
}

/** A call was refused for want of a (valid) key. */
export function reportUnauthorized() {
  keyEvents.dispatchEvent(new CustomEvent('unauthorized', { detail: { hadKey: Boolean(current) } }));
}

// Another tab saved or forgot the key.
window.addEventListener('storage', (event) => {
  if (event.key !== STORAGE_KEY && event.key !== null) return;
  const next = read();
  if (next === current) return;
  current = next;
  keyEvents.dispatchEvent(new Event('change'));
});
