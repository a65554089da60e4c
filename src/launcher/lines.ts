// Splits a byte stream into whole lines. Splitting bytes on '\n' is safe for UTF-8
// (the byte never occurs inside a multi-byte character), so each line decodes whole.
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;

  /** `maxLine`: a longer unterminated line is handed on in pieces of this size (bounds memory). */
  constructor(
    private readonly onLine: (line: Buffer) => void,
    public maxLine = 8 * 1024 * 1024,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.size > 0) {
        this.parts.push(piece);
        const line = Buffer.concat(this.parts, this.size + piece.length);
        this.parts = [];
        this.size = 0;
        this.onLine(line);
      } else {
        this.onLine(piece);
      }
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.parts.push(rest);
      this.size += rest.length;
      if (this.size >= this.maxLine) this.flush();
    }
  }

  /** Hand on a last unterminated line, if any. */
  flush(): void {
    if (this.size === 0) return;
    const line = Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    this.onLine(line);
  }
}
