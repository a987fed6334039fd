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

/**
 * A form for an engine's settings, generated from its JSON Schema: checkboxes for booleans,
 * selects for enums, number inputs with the schema's bounds, the defaults filled in and each
 * description shown under its field. `initial` (a run's settings) overrides the defaults.
 */
export function settingsForm(schema: JsonSchema, initial: Record<string, unknown> = {}): SettingsForm {
  const fields: { key: string; read(): unknown; reset(): void }[] = [];
  const rows: HTMLElement[] = [];
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
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
  const element = h('div', { class: 'settings-grid' }, rows.length ? rows : h('p', { class: 'muted' }, 'This engine has no settings.'));
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
