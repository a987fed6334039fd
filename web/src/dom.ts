type Child = Node | string | number | null | undefined | false | Child[];
type Props = Record<string, unknown>;

/** A small element builder: `h('button', { class: 'x', onclick }, 'Label')`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value as EventListener);
    else if (key === 'class') el.className = String(value);
    else if (key === 'style' && typeof value === 'object') Object.assign(el.style, value);
    else if (key in el && !key.includes('-') && typeof value !== 'string') (el as unknown as Props)[key] = value;
    else if (key === 'value' || key === 'checked') (el as unknown as Props)[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

export function replaceChildren(parent: Element, ...children: Child[]) {
  parent.replaceChildren();
  append(parent, children);
}

let ids = 0;
/** A unique id for label/input and aria-describedby pairs. */
export const uid = (prefix: string) => `${prefix}-${++ids}`;

/** The status pill used on every page (`label` when the status is not fit to print as is). */
export const statusPill = (status: string, label = status) => h('span', { class: `pill pill-${status}` }, label);

export function spinner(label: string) {
  return h('p', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), label);
}

export function errorBox(title: string, detail: string, hint?: string) {
  return h(
    'div',
    { class: 'notice notice-error', role: 'alert' },
    h('strong', null, title),
    h('p', null, detail),
    hint ? h('p', { class: 'hint' }, h('span', { class: 'hint-label' }, 'What to do: '), hint) : null,
  );
}
