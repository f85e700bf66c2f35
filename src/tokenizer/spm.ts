// SentencePiece-style encoding of llama GGUF files (tokenizer.ggml.model = "llama"), as llama.cpp's
// llm_tokenizer_spm: spaces become "▁", a leading space is added, the text is split into UTF-8
// characters, and adjacent pieces merge highest vocabulary score first (leftmost on ties) while the
// merged piece is in the vocabulary. A piece that is not a token falls back to its bytes as
// <0xNN> tokens.
import { SPACE } from "./vocabulary";

/** What encoding needs of a vocabulary: text pieces by string, scores, the byte tokens. */
export interface SpmModel {
  ids: ReadonlyMap<string, number>;
  scores: ArrayLike<number>;
  /** byte value -> its <0xNN> token, or -1 */
  byteIds: Int32Array;
  unk: number;
  addSpacePrefix: boolean;
}

/**
 * Appends the tokens of `text` (no BOS) to `out`. `atStart`: the text starts the input or follows
 * a special token, where llama.cpp adds the leading space (add_space_prefix).
 */
export function spmEncode(m: SpmModel, text: string, out: number[], atStart = true): number[] {
  if (text.length === 0) return out;
  const s = (m.addSpacePrefix && atStart ? " " + text : text).replaceAll(" ", SPACE);
  const words = wordsOf(m);
  if (!words) return encodePieces(m, s, out);
  // No token holds "▁" after another character, so no merge crosses the start of a "▁" run that
  // follows a character: each such word merges alone, exactly as in the whole text (its merges'
  // order among themselves is the same), and a word seen before is looked up.
  let start = 0;
  for (let i = 1; i <= s.length; i++) {
    if (i < s.length && !(s[i] === SPACE && s[i - 1] !== SPACE)) continue;
    const w = s.slice(start, i);
    let ids = words.get(w);
    if (!ids) {
      ids = encodePieces(m, w, []);
      if (words.size >= 65536) words.clear();
      words.set(w, ids);
    }
    for (const id of ids) out.push(id);
    start = i;
  }
  return out;
}

// Per vocabulary: its cache of encoded words, or null when a token holds "▁" after another
// character (then merges may cross word starts and the whole text merges at once).
const wordCaches = new WeakMap<ReadonlyMap<string, number>, Map<string, number[]> | null>();

function wordsOf(m: SpmModel): Map<string, number[]> | null {
  let c = wordCaches.get(m.ids);
  if (c === undefined) {
    c = new Map();
    const crosses = new RegExp(`[^${SPACE}]${SPACE}`, "u");
    for (const t of m.ids.keys()) {
      if (crosses.test(t)) { c = null; break; }
    }
    wordCaches.set(m.ids, c);
  }
  return c;
}

/** The merge of llm_tokenizer_spm over one stretch of text (spaces already "▁"): also the reference the word split is tested against. */
export function encodePieces(m: SpmModel, s: string, out: number[]): number[] {
  // symbols: one per code point, as a doubly linked list over `syms`
  const syms: { text: string; prev: number; next: number }[] = [];
  for (const ch of s) syms.push({ text: ch, prev: syms.length - 1, next: syms.length + 1 });
  syms[syms.length - 1].next = -1;
  // max-heap of candidate merges: higher score first, then leftmost
  type Bigram = { left: number; right: number; score: number; text: string };
  const heap: Bigram[] = [];
  const better = (a: Bigram, b: Bigram) => a.score > b.score || (a.score === b.score && a.left < b.left);
  const push = (b: Bigram) => {
    heap.push(b);
    for (let i = heap.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!better(heap[i], heap[p])) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  };
  const pop = (): Bigram => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && better(heap[l], heap[m])) m = l;
        if (r < heap.length && better(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  };
  const tryAdd = (left: number, right: number) => {
    if (left < 0 || right < 0) return;
    const t = syms[left].text + syms[right].text;
    const id = m.ids.get(t);
    if (id !== undefined) push({ left, right, score: m.scores[id], text: t });
  };
  for (let i = 1; i < syms.length; i++) tryAdd(i - 1, i);
  while (heap.length > 0) {
    const b = pop();
    const L = syms[b.left], R = syms[b.right];
    // stale: one side already merged into something else
    if (L.text.length === 0 || R.text.length === 0 || L.text + R.text !== b.text) continue;
    L.text = b.text;
    R.text = "";
    L.next = R.next;
    if (R.next >= 0) syms[R.next].prev = b.left;
    tryAdd(L.prev, b.left);
    tryAdd(b.left, L.next);
  }
  const enc = new TextEncoder();
  for (let i = 0; i >= 0; i = syms[i].next) {
    const id = m.ids.get(syms[i].text);
    if (id !== undefined) {
      out.push(id);
      continue;
    }
    for (const byte of enc.encode(syms[i].text)) {
      const bid = m.byteIds[byte];
      out.push(bid >= 0 ? bid : m.unk);
    }
  }
  return out;
}
