/** Small statistics and a plain-text table for bench output. */

export function median(values: number[]): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const max = (values: number[]) => (values.length ? Math.max(...values) : Number.NaN);

export const MiB = 1024 * 1024;
export const mib = (bytes: number, digits = 1) => (bytes / MiB).toFixed(digits);
export const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[], isHeader: boolean) =>
    row
      .map((cell, i) => {
        const numeric = !isHeader && /^[-+]?[\d.]+( ?[%x])?$/.test(cell);
        return numeric ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  const out = [line(cells[0]!, true), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const row of cells.slice(1)) out.push(line(row, false));
  return out.join('\n');
}
