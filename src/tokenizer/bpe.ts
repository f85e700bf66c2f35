// Byte-level BPE encoding (tokenizer.ggml.model = "gpt2": GPT-2, Llama 3, Qwen2, ...), as
// llama.cpp's llm_tokenizer_bpe_session: the text is cut into words by the pre-tokenizer
// (pretokenizers.ts), each word's UTF-8 bytes become GPT-2's byte characters, and adjacent symbols
// merge lowest merge rank first (leftmost on ties) while the pair is a merge. Words repeat a lot in
// text, so each word's tokens are cached.
import { GGUFError } from "../gguf/reader";
import { PRE_TOKENIZERS, Splitter, type PreTokenizer } from "./pretokenizers";
import { BYTE_TO_CHAR } from "./unicode";

/** What encoding needs of a vocabulary. */
export interface BpeModel {
  /** every token's text -> id (first id of a duplicate) */
  ids: ReadonlyMap<string, number>;
  /** "left\nright" -> rank (merge order). Symbols never hold a raw "\n": byte characters stand for it */
  ranks: ReadonlyMap<string, number>;
  pre: PreTokenizer;
  /** the merges, for the fast path by ids */
  merges?: readonly string[];
}

/** The merges key of a pair (llama.cpp splits each merge at its first space after position 0). */
export function mergeRanks(merges: readonly string[]): Map<string, number> {
  const ranks = new Map<string, number>();
  merges.forEach((m, rank) => {
    const sp = m.indexOf(" ", 1);
    if (sp < 0) return; // llama.cpp keeps it as the pair ("", ""): never found
    const key = m.slice(0, sp) + "\n" + m.slice(sp + 1);
    if (!ranks.has(key)) ranks.set(key, rank);
  });
  return ranks;
}

/** The pre-tokenizer of a tokenizer.ggml.pre name; an unknown name is a GGUFError naming it. */
export function preTokenizer(name: string, path: string): PreTokenizer {
  const p = Object.hasOwn(PRE_TOKENIZERS, name) ? PRE_TOKENIZERS[name] : undefined;
  if (!p) {
    throw new GGUFError(`GGUF ${path}: unknown pre-tokenizer ${JSON.stringify(name)} (tokenizer.ggml.pre; supported: ${Object.keys(PRE_TOKENIZERS).join(", ")})`);
  }
  return p;
}

const enc = new TextEncoder();
const CACHE_MAX = 1 << 16;

/** Encodes text (no special tokens: those are split off before) to token ids. */
export class BpeEncoder {
  readonly #m: BpeModel;
  readonly #split: Splitter;
  #cache = new Map<string, number[]>();
  // the fast path: symbols as token ids, merges as (left id, right id) -> rank -> merged id. Only
  // when every byte character and every merge's parts and result are tokens (as in real
  // vocabularies); otherwise the merges run on strings, as llama.cpp's do.
  readonly #byteIds = new Int32Array(256);
  #pairs = new PairTable(1);
  #mergedId = new Int32Array(0);
  #fast = false;

  constructor(m: BpeModel) {
    this.#m = m;
    this.#split = new Splitter(m.pre.regexes);
    if (m.merges) this.#fast = this.#prepareFast(m.merges);
  }

  #prepareFast(merges: readonly string[]): boolean {
    const { ids } = this.#m;
    for (let b = 0; b < 256; b++) {
      const id = ids.get(BYTE_TO_CHAR[b]);
      if (id === undefined) return false;
      this.#byteIds[b] = id;
    }
    this.#mergedId = new Int32Array(merges.length);
    this.#pairs = new PairTable(merges.length);
    for (let rank = 0; rank < merges.length; rank++) {
      const m = merges[rank], sp = m.indexOf(" ", 1);
      if (sp < 0) continue;
      const l = ids.get(m.slice(0, sp)), r = ids.get(m.slice(sp + 1)), lr = ids.get(m.slice(0, sp) + m.slice(sp + 1));
      if (l === undefined || r === undefined || lr === undefined) return false;
      this.#pairs.add(l, r, rank);
      this.#mergedId[rank] = lr;
    }
    return true;
  }

  /** Appends the tokens of `text` to `out`. */
  encode(text: string, out: number[]): number[] {
    if (text.length === 0) return out;
    for (const word of this.#split.split(text)) {
      let ids = this.#cache.get(word);
      if (ids === undefined) {
        ids = this.#word(word);
        if (this.#cache.size >= CACHE_MAX) this.#cache = new Map(); // bounded: a long text of unique words
        this.#cache.set(word, ids);
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    }
    return out;
  }

  #word(word: string): number[] {
    let bytes: Uint8Array;
    if (/^[\x00-\x7f]*$/.test(word)) { // ASCII: the char codes are the bytes (TextEncoder costs more per call)
      bytes = new Uint8Array(word.length);
      for (let i = 0; i < word.length; i++) bytes[i] = word.charCodeAt(i);
    } else bytes = enc.encode(word);
    let s = "";
    for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
    const { ids, ranks } = this.#m;
    if (this.#m.pre.ignoreMerges) {
      const id = ids.get(s);
      if (id !== undefined) return [id];
    }
    if (this.#fast && bytes.length < 1 << 24) return this.#mergeIds(bytes);
    const n = s.length; // every byte character is one UTF-16 unit
    // symbols as a doubly linked list over [start, end) of s; merged-away symbols get end = start
    const start = new Int32Array(n), end = new Int32Array(n), prev = new Int32Array(n), next = new Int32Array(n);
    for (let i = 0; i < n; i++) { start[i] = i; end[i] = i + 1; prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; }
    // min-heap of candidate merges: (rank, left) with the pair's text to detect stale entries
    const heap: { rank: number; left: number; right: number; text: string }[] = [];
    const less = (a: (typeof heap)[0], b: (typeof heap)[0]) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left);
    const push = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const l = s.slice(start[left], end[left]), r = s.slice(start[right], end[right]);
      const rank = ranks.get(l + "\n" + r);
      if (rank === undefined) return;
      const e = { rank, left, right, text: l + r };
      let i = heap.push(e) - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!less(heap[i], heap[p])) break;
        [heap[i], heap[p]] = [heap[p], heap[i]];
        i = p;
      }
    };
    const pop = () => {
      const top = heap[0], last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < heap.length && less(heap[l], heap[m])) m = l;
          if (r < heap.length && less(heap[r], heap[m])) m = r;
          if (m === i) break;
          [heap[i], heap[m]] = [heap[m], heap[i]];
          i = m;
        }
      }
      return top;
    };
    for (let i = 1; i < n; i++) push(i - 1, i);
    while (heap.length > 0) {
      const b = pop();
      const L = b.left, R = b.right;
      if (end[L] === start[L] || end[R] === start[R]) continue;
      // stale: a side merged with something else since (same check as llama.cpp: the texts)
      if (next[L] !== R || s.slice(start[L], end[R]) !== b.text) continue;
      end[L] = end[R];
      end[R] = start[R];
      next[L] = next[R];
      if (next[R] >= 0) prev[next[R]] = L;
      push(prev[L], L);
      push(L, next[L]);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) {
      const sym = s.slice(start[i], end[i]);
      const id = ids.get(sym);
      if (id !== undefined) { out.push(id); continue; }
      // not a token (a vocabulary without all 256 byte characters): llama.cpp tries each byte
      // of the symbol's UTF-8 as a token of its own; only ASCII ones can be one
      for (const ch of sym) {
        const bid = ch.charCodeAt(0) < 0x80 ? ids.get(ch) : undefined;
        if (bid !== undefined) out.push(bid);
      }
    }
    return out;
  }

  /** The merges of a word by token ids: same order as by strings (rank, then leftmost). */
  #mergeIds(bytes: Uint8Array): number[] {
    const n = bytes.length, pairs = this.#pairs;
    const id = new Int32Array(n), prev = new Int32Array(n), next = new Int32Array(n);
    for (let i = 0; i < n; i++) { id[i] = this.#byteIds[bytes[i]]; prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; }
    // min-heap of rank * 2^24 + left: a popped entry is current if its pair still has that rank
    const heap: number[] = [];
    const SHIFT = 1 << 24;
    const push = (left: number) => {
      const right = next[left];
      if (left < 0 || right < 0) return;
      const rank = pairs.get(id[left], id[right]);
      if (rank < 0) return;
      const key = rank * SHIFT + left;
      let i = heap.push(key) - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (heap[p] <= key) break;
        heap[i] = heap[p];
        i = p;
      }
      heap[i] = key;
    };
    const pop = (): number => {
      const top = heap[0], last = heap.pop()!;
      const len = heap.length;
      if (len > 0) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= len) break;
          const c = l + 1 < len && heap[l + 1] < heap[l] ? l + 1 : l;
          if (heap[c] >= last) break;
          heap[i] = heap[c];
          i = c;
        }
        heap[i] = last;
      }
      return top;
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    const alive = new Uint8Array(n).fill(1);
    while (heap.length > 0) {
      const key = pop();
      const L = key % SHIFT, rank = (key - L) / SHIFT;
      const R = next[L];
      if (!alive[L] || R < 0 || pairs.get(id[L], id[R]) !== rank) continue; // stale
      id[L] = this.#mergedId[rank];
      alive[R] = 0;
      next[L] = next[R];
      if (next[R] >= 0) prev[next[R]] = L;
      if (prev[L] >= 0) push(prev[L]);
      push(L);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) out.push(id[i]);
    return out;
  }
}

/** (left id, right id) -> merge rank: an open-addressing hash table (a Map of number keys is slower). */
class PairTable {
  readonly #l: Int32Array;
  readonly #r: Int32Array;
  readonly #v: Int32Array;
  readonly #mask: number;

  constructor(count: number) {
    let cap = 16;
    while (cap < count * 3) cap *= 2;
    this.#l = new Int32Array(cap).fill(-1);
    this.#r = new Int32Array(cap);
    this.#v = new Int32Array(cap);
    this.#mask = cap - 1;
  }

  #slot(l: number, r: number): number {
    let h = (Math.imul(l, 0x9e3779b1) ^ Math.imul(r, 0x85ebca6b)) & this.#mask;
    while (this.#l[h] !== -1 && (this.#l[h] !== l || this.#r[h] !== r)) h = (h + 1) & this.#mask;
    return h;
  }

  /** Keeps the first rank of a pair listed twice (llama.cpp's emplace). */
  add(l: number, r: number, rank: number): void {
    const h = this.#slot(l, r);
    if (this.#l[h] !== -1) return;
    this.#l[h] = l;
    this.#r[h] = r;
    this.#v[h] = rank;
  }

  /** The rank, or -1. */
  get(l: number, r: number): number {
    const h = this.#slot(l, r);
    return this.#l[h] === -1 ? -1 : this.#v[h];
  }
}
