import { extname } from 'node:path';

const MAX_NAME_LENGTH = 120;
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.heic', '.heif', '.mp4', '.m4v', '.mov', '.webm', '.mkv']);

/**
 * A stored name for an uploaded file: no folders, no `..`, no control characters, bounded
 * length, and an extension that says what the bytes are.
 */
export function safeImageName(original: string, detectedExtension: string): string {
  const base = original.split(/[/\\]/).pop() ?? '';
  let name = base
    // A lone surrogate becomes U+FFFD on disk and in the database anyway; doing it here keeps the
    // name we compare and store the same as theirs.
    .toWellFormed()
    .normalize('NFC')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .replace(/[<>:"|?*]/g, '_')
    .replace(/^[.\s]+/, '')
    .trim();
  let extension = extname(name).toLowerCase();
  if (!IMAGE_EXTENSIONS.has(extension)) {
    extension = detectedExtension;
    name = `${name}${extension}`;
  }
  let stem = name.slice(0, name.length - extension.length).replace(/\.\.+/g, '.');
  if (!stem) stem = 'image';
  const room = MAX_NAME_LENGTH - extension.length;
  if (Buffer.byteLength(stem) > room) stem = Buffer.from(stem).subarray(0, room).toString('utf8').replace(/\uFFFD+$/, '');
  return `${stem}${name.slice(name.length - extension.length)}`;
}

/** Resolves name clashes the same way every time: `a.jpg`, then `a-2.jpg`, `a-3.jpg`, … */
export function uniqueName(name: string, taken: Set<string>): string {
  if (!taken.has(name)) return name;
  const extension = extname(name);
  const stem = name.slice(0, name.length - extension.length);
  for (let n = 2; ; n++) {
    const candidate = `${stem}-${n}${extension}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** Byte-wise order (like `ls` in the C locale): the order engines see images in. */
export const compareNames = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
