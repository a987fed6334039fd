import type { Readable } from 'node:stream';

/** Calls `onLine` for every non-empty line a child process writes (the last one even without a newline). */
export function forwardLines(stream: Readable, onLine: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (pending + chunk).split(/\r?\n/);
    pending = parts.pop() ?? '';
    for (const line of parts) if (line) onLine(line);
  });
  stream.on('end', () => {
    if (pending) onLine(pending);
  });
}
