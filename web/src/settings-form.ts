import type { JsonSchema } from './api.ts';
import { h, uid } from './dom.ts';
import { humanize } from './format.ts';

export interface SettingsForm {
  element: HTMLElement;
  /** The values as the engine expects them (numbers as numbers, booleans as booleans). */
  values(): Record<string, unknown>;
  reset(): void;
}

const typeOf = (schema: JsonSchema) => (Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The engine choices of a pipeline stage: `oneOf` objects told apart by a constant `engine`. */
function engineChoices(schema: JsonSchema): { id: string; schema: JsonSchema }[] | undefined {
  const options = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  const choices = options?.map((option) => ({ id: (option.properties?.engine as JsonSchema | undefined)?.const, schema: option }));
  return choices?.length && choices.every((c) => typeof c.id === 'string') ? (choices as { id: string; schema: JsonSchema }[]) : undefined;
}

/**
 * A pipeline stage's settings: a fieldset with the stage's own fields, or (when the stage can run
 * one of several engines) an engine select that swaps in the chosen engine's fields.
 */
function nestedForm(key: string, property: JsonSchema, start: unknown): { element: HTMLElement; read(): unknown; reset(): void } {
  const initial = isObject(start) ? start : {};
  // Closed until wanted: a pipeline has many stages, each with many knobs, and the defaults suit most runs.
  const group = (...children: Parameters<typeof h>[2][]) =>
    h('details', { class: 'settings-group', 'data-setting': key }, h('summary', null, humanize(key), property.description ? h('span', { class: 'field-help' }, ` — ${property.description}`) : null), ...children);
  const choices = engineChoices(property);
  if (!choices) {
    const inner = settingsForm(property, initial);
    return { element: group(inner.element), read: () => inner.values(), reset: () => inner.reset() };
  }
  const id = uid(`setting-${key}-engine`);
  const chosen = typeof initial.engine === 'string' ? initial.engine : choices[0]!.id;
  const select = h('select', { id, name: `${key}.engine` }, choices.map((c) => h('option', { value: c.id, selected: c.id === chosen }, c.id)));
  const host = h('div', null);
  let inner: SettingsForm;
  const showEngine = (engine: string, values: Record<string, unknown>) => {
    const { engine: _constant, ...properties } = choices.find((c) => c.id === engine)?.schema.properties ?? {};
    inner = settingsForm({ ...choices.find((c) => c.id === engine)?.schema, properties }, values);
    host.replaceChildren(inner.element);
  };
  showEngine(chosen, initial);
  select.addEventListener('change', () => showEngine(select.value, {}));
  return {
    element: group(h('div', { class: 'field' }, h('label', { for: id }, 'Engine'), select), host),
    read: () => ({ engine: select.value, ...inner.values() }),
    reset: () => {
      select.value = choices[0]!.id;
      showEngine(select.value, {});
    },
  };
}

/**
 * A form for an engine's settings, generated from its JSON Schema: checkboxes for booleans,
 * selects for enums, number inputs with the schema's bounds, the defaults filled in and each
 * description shown under its field; a pipeline's stages get a fieldset each. `initial` (a run's
 * settings) overrides the defaults.
 */
export function settingsForm(schema: JsonSchema, initial: Record<string, unknown> = {}): SettingsForm {
  const fields: { key: string; read(): unknown; reset(): void }[] = [];
  const rows: HTMLElement[] = [];
  const groups: HTMLElement[] = [];
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    if (typeOf(property) === 'object' || engineChoices(property)) {
      const nested = nestedForm(key, property, initial[key]);
      fields.push({ key, read: nested.read, reset: nested.reset });
      groups.push(nested.element);
      continue;
    }
    const id = uid(`setting-${key}`);
    const helpId = `${id}-help`;
    const fallback = property.default;
    const start = key in initial ? initial[key] : fallback;
    const label = humanize(key);
    const help = property.description ? h('p', { class: 'field-help', id: helpId }, property.description) : null;
    const describedBy = help ? helpId : undefined;
    const type = typeOf(property);

    if (type === 'boolean') {
      const input = h('input', { type: 'checkbox', id, name: key, checked: start === true, 'aria-describedby': describedBy });
      fields.push({ key, read: () => input.checked, reset: () => (input.checked = fallback === true) });
      rows.push(h('div', { class: 'field field-check' }, input, h('label', { for: id }, label), help));
    } else if (Array.isArray(property.enum)) {
      const select = h(
        'select',
        { id, name: key, 'aria-describedby': describedBy },
        property.enum.map((option) => h('option', { value: String(option), selected: option === start }, String(option))),
      );
      fields.push({ key, read: () => select.value, reset: () => (select.value = String(fallback ?? property.enum?.[0] ?? '')) });
      rows.push(h('div', { class: 'field' }, h('label', { for: id }, label), select, help));
    } else if (type === 'number' || type === 'integer') {
      const min = property.minimum ?? property.exclusiveMinimum;
      const max = property.maximum ?? property.exclusiveMaximum;
      const input = h('input', {
        type: 'number',
        id,
        name: key,
        inputmode: type === 'integer' ? 'numeric' : 'decimal',
        step: type === 'integer' ? '1' : 'any',
        ...(min !== undefined && { min: String(min) }),
        ...(max !== undefined && { max: String(max) }),
        value: start === undefined ? '' : String(start),
        required: schema.required?.includes(key) && fallback === undefined,
        'aria-describedby': describedBy,
      });
      fields.push({
        key,
        read: () => (input.value === '' ? undefined : Number(input.value)),
        reset: () => (input.value = fallback === undefined ? '' : String(fallback)),
      });
      const range = min !== undefined && max !== undefined ? h('span', { class: 'field-range' }, `${min}–${max}`) : null;
      rows.push(h('div', { class: 'field' }, h('label', { for: id }, label, range), input, help));
    } else if (type === 'string') {
      const input = h('input', { type: 'text', id, name: key, value: start === undefined ? '' : String(start), 'aria-describedby': describedBy });
      fields.push({ key, read: () => (input.value === '' ? undefined : input.value), reset: () => (input.value = String(fallback ?? '')) });
      rows.push(h('div', { class: 'field' }, h('label', { for: id }, label), input, help));
    }
  }
  const grid = h('div', { class: 'settings-grid' }, rows.length || groups.length ? rows : h('p', { class: 'muted' }, 'This engine has no settings.'));
  const element = groups.length ? h('div', { class: 'settings-groups' }, grid, groups) : grid;
  return {
    element,
    values() {
      const out: Record<string, unknown> = {};
      for (const field of fields) {
        const value = field.read();
        if (value !== undefined) out[field.key] = value;
      }
      return out;
    },
    reset() {
      for (const field of fields) field.reset();
    },
  };
}
