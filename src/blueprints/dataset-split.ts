import { createHash } from 'node:crypto';

/**
 * Which objects go to validation: a seeded shuffle of the objects (by seed and photo hash, so
 * the same inputs always split the same way), the first `round(n × valFraction)` — at least one
 * when there are two or more objects, never all. Every image of an object stays on its side, so
 * no product is seen in both training and validation.
 */
export function validationObjects(objects: readonly { id: string; sha256: string }[], seed: number, valFraction: number): Set<string> {
  if (objects.length < 2 || valFraction <= 0) return new Set();
  const count = Math.min(objects.length - 1, Math.max(1, Math.round(objects.length * valFraction)));
  const order = objects
    .map((object) => ({ id: object.id, key: createHash('sha256').update(`${seed}:${object.sha256}:${object.id}`).digest('hex') }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return new Set(order.slice(0, count).map((o) => o.id));
}
