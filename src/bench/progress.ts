// A progress bar on a terminal; plain step lines otherwise (none of the \r redrawing under CI or in a pipe).
export class Progress {
  readonly tty: boolean;
  #t0 = Date.now();
  #stepT0 = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #line = '';

  constructor(
    readonly total: number,
    readonly log: (s: string) => void,
  ) {
    this.tty = Boolean(process.stderr.isTTY) && !process.env.CI && process.env.TERM !== 'dumb';
  }

  #draw(done: number, name: string): void {
    const width = 24;
    const fill = Math.round((done / Math.max(1, this.total)) * width);
    const secs = ((Date.now() - this.#t0) / 1000).toFixed(0);
    const cols = process.stderr.columns || 100;
    const text = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${this.total} ${secs}s  ${name}`;
    this.#line = text.slice(0, cols - 1);
    process.stderr.write(`\r\x1b[2K${this.#line}`);
  }

  start(i: number, name: string): void {
    this.#stepT0 = Date.now();
    if (this.tty) {
      this.#draw(i, name);
      clearInterval(this.#timer);
      this.#timer = setInterval(() => this.#draw(i, name), 500);
      this.#timer.unref();
    }
  }

  done(n: number, name: string): void {
    const secs = ((Date.now() - this.#stepT0) / 1000).toFixed(1);
    if (this.tty) this.#draw(n, name);
    else this.log(`orchid bench: [${n}/${this.total}] ${name} (${secs} s)`);
  }

  finish(): void {
    clearInterval(this.#timer);
    if (this.tty && this.#line) process.stderr.write('\n');
  }
}
