export type Page = (root: HTMLElement, params: Record<string, string>, query: URLSearchParams) => (() => void) | undefined;

interface Route {
  pattern: RegExp;
  keys: string[];
  section: string;
  page: Page;
}

const routes: Route[] = [];
let dispose: (() => void) | undefined;
let root: HTMLElement;
let notFound: Page;

export function route(path: string, section: string, page: Page) {
  const keys: string[] = [];
  const source = path.replace(/:(\w+)/g, (_, key: string) => {
    keys.push(key);
    return '([^/]+)';
  });
  const pattern = new RegExp(`^${source}/?$`);
  routes.push({ pattern, keys, section, page });
}

export function navigate(url: string, options: { replace?: boolean } = {}) {
  if (options.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
  window.scrollTo(0, 0);
}

function render() {
  dispose?.();
  dispose = undefined;
  root.replaceChildren();
  const path = location.pathname;
  const query = new URLSearchParams(location.search);
  const match = routes.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m);
  document.querySelectorAll<HTMLAnchorElement>('[data-section]').forEach((link) => {
    if (match && link.dataset.section === match.r.section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  });
  if (!match?.m) {
    dispose = notFound(root, {}, query);
    return;
  }
  const params = Object.fromEntries(match.r.keys.map((key, i) => [key, decodeURIComponent(match.m?.[i + 1] ?? '')]));
  dispose = match.r.page(root, params, query) ?? undefined;
}

/** Links inside the app change the page without a reload; everything else behaves normally. */
export function startRouter(main: HTMLElement, fallback: Page) {
  root = main;
  notFound = fallback;
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = (event.target as Element).closest?.('a');
    if (!link || link.target || link.hasAttribute('download') || link.origin !== location.origin) return;
    if (link.pathname.startsWith('/api/') || link.pathname === '/openapi.json') return;
    event.preventDefault();
    navigate(link.pathname + link.search);
    main.focus({ preventScroll: true });
  });
  window.addEventListener('popstate', render);
  render();
}
