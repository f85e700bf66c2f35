// Stop strings (the API's `stop`): generated text is cut before the first of them. While streaming,
// text that could be the start of a stop string is held back until the next piece decides it, so
// a client never receives part of a stop string.

export class StopMatcher {
  #held = "";

  constructor(readonly stops: readonly string[]) {}

  /** Adds generated text: returns what may be sent now, and whether a stop string was found (what follows it is dropped). */
  push(text: string): { text: string; stopped: boolean } {
    const s = this.#held + text;
    let at = -1;
    for (const st of this.stops) {
      const i = s.indexOf(st);
      if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    if (at >= 0) {
      this.#held = "";
      return { text: s.slice(0, at), stopped: true };
    }
    // hold back the longest end of s that begins a stop string
    let keep = 0;
    for (const st of this.stops) {
      for (let k = Math.min(st.length - 1, s.length); k > keep; k--) {
        if (s.endsWith(st.slice(0, k))) { keep = k; break; }
      }
    }
    this.#held = s.slice(s.length - keep);
    return { text: s.slice(0, s.length - keep), stopped: false };
  }

  /** The text held back, at the end of generation (no stop string came). */
  flush(): string {
    const h = this.#held;
    this.#held = "";
    return h;
  }
}
