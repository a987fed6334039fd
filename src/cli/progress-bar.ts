/** A one-line progress display: a redrawn bar on a terminal, plain lines otherwise. */
export class ProgressLine {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  #lastPlain = '';
  #shown = '';
  #drawnAt = 0;
  #pending: ReturnType<typeof setTimeout> | undefined;

  constructor(stream: NodeJS.WriteStream = process.stdout) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
  }

  /** `fraction` undefined: the stage has started but said nothing about how far it is. */
  update(label: string, fraction: number | undefined, detail = '') {
    // Floored, so 100% means done (not 99.6%).
    const percent = Math.floor(Math.min(1, Math.max(0, fraction ?? 0)) * 100 + 1e-9);
    if (!this.#tty) {
      // Logs and pipes get a line per label and quarter, not one per redraw.
      const key = `${label} ${percent === 100 ? 100 : Math.floor(percent / 25) * 25}`;
      const shown = fraction === undefined ? label : `${label} ${percent}%`;
      if (key !== this.#lastPlain) this.#stream.write(`  ${shown}${detail ? ` — ${detail}` : ''}\n`);
      this.#lastPlain = key;
      return;
    }
    const width = 28;
    const filled = Math.round((percent / 100) * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const text = `  ${label.padEnd(11)} ${bar} ${String(percent).padStart(3)}% ${detail}`;
    if (text === this.#shown) return;
    // At most 20 redraws a second while a bar moves; the latest state is drawn when the time comes.
    clearTimeout(this.#pending);
    this.#pending = undefined;
    const wait = 50 - (Date.now() - this.#drawnAt);
    if (this.#shown && wait > 0 && percent < 100) {
      this.#pending = setTimeout(() => this.#draw(text), wait);
      this.#pending.unref();
      return;
    }
    this.#draw(text);
  }

  #draw(text: string) {
    this.#pending = undefined;
    const columns = this.#stream.columns ?? 100;
    this.#stream.write(`\r\x1b[2K${text.slice(0, columns - 1)}`);
    this.#shown = text;
    this.#drawnAt = Date.now();
  }

  /** Prints a line above the bar, which is drawn again at the next update. */
  log(line: string) {
    clearTimeout(this.#pending);
    if (this.#tty && this.#shown) this.#stream.write('\r\x1b[2K');
    this.#shown = '';
    this.#stream.write(`${line}\n`);
  }

  /** Ends the current line (so the next output starts on a fresh one). */
  done(message?: string) {
    clearTimeout(this.#pending);
    if (this.#tty && this.#shown) this.#stream.write('\r\x1b[2K');
    this.#shown = '';
    this.#lastPlain = '';
    if (message) this.#stream.write(`${message}\n`);
  }
}
