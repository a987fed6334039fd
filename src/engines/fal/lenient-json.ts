/**
 * JSON.parse, except that integers beyond 2^53 (fal's seeds, in its Python-written bodies) come
 * back as their exact digits in a string instead of a rounded number.
 */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(text, (_key, value, context?: { source?: string }) =>
    typeof value === 'number' && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source) ? context.source : value,
  );
}
