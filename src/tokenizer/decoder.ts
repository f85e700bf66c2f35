// Token ids back to text, streaming: the bytes of a character split across tokens wait for the
// rest, so every piece handed out is complete UTF-8.

export class StreamDecoder {
  #td = new TextDecoder("utf-8");
  #started = false;
  constructor(private readonly pieces: Uint8Array[], private readonly stripSpace: boolean) {}

  push(id: number): string {
    const b = this.pieces[id];
    if (b === undefined) throw new RangeError(`token: expected an id in [0, ${this.pieces.length}), got ${id}`);
    if (b.length === 0) return "";
    let bytes = b;
    if (!this.#started) {
      this.#started = true;
      if (this.stripSpace && bytes[0] === 0x20) bytes = bytes.subarray(1);
    }
    return this.#td.decode(bytes, { stream: true });
  }

  /** Whatever is left (an incomplete character becomes U+FFFD). */
  flush(): string {
    return this.#td.decode();
  }
}
