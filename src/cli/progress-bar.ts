/** A one-line progress display: a bar when stdout is a terminal, plain lines otherwise. */
export class ProgressLine {
  readonly #tty = process.stdout.isTTY === true;
  #lastPlain = '';

  update(label: string, fraction: number, detail = '') {
    const percent = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
    if (!this.#tty) {
      const line = `${label} ${percent}%`;
      if (line !== this.#lastPlain) console.log(`  ${line}${detail ? ` — ${detail}` : ''}`);
      this.#lastPlain = line;
      return;
    }
    const width = 28;
    const filled = Math.round((percent / 100) * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const text = `  ${label.padEnd(11)} ${bar} ${String(percent).padStart(3)}% ${detail}`;
    const columns = process.stdout.columns ?? 100;
    process.stdout.write(`\r\x1b[2K${text.slice(0, columns - 1)}`);
  }

  /** Ends the current line (so the next output starts on a fresh one). */
  done(message?: string) {
    if (this.#tty) process.stdout.write('\r\x1b[2K');
    if (message) console.log(message);
  }
}
