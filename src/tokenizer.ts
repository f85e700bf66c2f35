// SentencePiece-style tokenizer of llama GGUF files (tokenizer.ggml.model = "llama"), as llama.cpp's
// llm_tokenizer_spm: spaces become "▁", a leading space is added, the text is split into UTF-8
// characters, and adjacent pieces merge highest vocabulary score first (leftmost on ties) while the
// merged piece is in the vocabulary. A piece that is not a token falls back to its bytes as
// <0xNN> tokens. Decoding streams: bytes of a character split across tokens wait for the rest.
import type { GGUFFile } from "./gguf/reader";
import { rangeError, typeError } from "./errors";
import { GGUFError, q, valueText } from "./gguf/reader";

/** tokenizer.ggml.token_type values. */
export const enum TokenType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }

export interface Vocabulary {
  tokens: string[];
  scores: ArrayLike<number>;
  types: ArrayLike<number>;
  bos: number;
  eos: number;
  unk: number;
  addBos: boolean;
  addSpacePrefix: boolean;
}

const SPACE = "\u2581";

function isNumbers(a: unknown): a is ArrayLike<number> {
  return ArrayBuffer.isView(a) ? !(a instanceof DataView) && !(a instanceof BigInt64Array) && !(a instanceof BigUint64Array)
    : Array.isArray(a) && a.every((x) => typeof x === "number");
}

/** The checks of `new Tokenizer(v)`: each field of the right kind, lengths and ids consistent. */
function checkVocabulary(v: Vocabulary): void {
  if (v === null || typeof v !== "object") throw typeError("Tokenizer vocabulary", "an object { tokens, scores, types, bos, eos, unk, addBos, addSpacePrefix }", v);
  if (!Array.isArray(v.tokens)) throw typeError("Tokenizer vocabulary.tokens", "an array of strings", v.tokens);
  const n = v.tokens.length;
  if (n < 1 || n > 2 ** 31 - 1) throw rangeError("Tokenizer vocabulary.tokens", "at least one token", `${n} tokens`);
  const bad = v.tokens.findIndex((t) => typeof t !== "string");
  if (bad >= 0) throw typeError(`Tokenizer vocabulary.tokens[${bad}]`, "a string", v.tokens[bad]);
  for (const k of ["scores", "types"] as const) {
    if (!isNumbers(v[k])) throw typeError(`Tokenizer vocabulary.${k}`, "an array or typed array of numbers", v[k]);
    if (v[k].length !== n) throw rangeError(`Tokenizer vocabulary.${k}`, `${n} values (one per token)`, `${v[k].length}`);
  }
  for (const k of ["bos", "eos", "unk"] as const) {
    const id = v[k];
    if (typeof id !== "number") throw typeError(`Tokenizer vocabulary.${k}`, "a token id", id);
    if (!Number.isInteger(id) || id < -1 || id >= n) throw rangeError(`Tokenizer vocabulary.${k}`, `a token id in [0, ${n}) or -1 (none)`, id);
  }
  for (const k of ["addBos", "addSpacePrefix"] as const) {
    if (typeof v[k] !== "boolean") throw typeError(`Tokenizer vocabulary.${k}`, "a boolean", v[k]);
  }
}

export class Tokenizer {
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  readonly addBos: boolean;
  readonly #v: Vocabulary;
  readonly #ids = new Map<string, number>();
  readonly #byteIds = new Int32Array(256).fill(-1);
  readonly #pieceBytes: Uint8Array[];
  #maxPieceBytes = 1;

  constructor(v: Vocabulary) {
    checkVocabulary(v);
    this.#v = v;
    this.vocabSize = v.tokens.length;
    this.bos = v.bos;
    this.eos = v.eos;
    this.addBos = v.addBos;
    const enc = new TextEncoder();
    this.#pieceBytes = new Array(v.tokens.length);
    v.tokens.forEach((t, id) => {
      const type = v.types[id] ?? TokenType.Normal;
      if (type === TokenType.Byte) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(t);
        if (m) this.#byteIds[parseInt(m[1], 16)] = id;
        this.#pieceBytes[id] = m ? Uint8Array.of(parseInt(m[1], 16)) : new Uint8Array(0);
      } else if (type === TokenType.Control || type === TokenType.Unused) {
        this.#pieceBytes[id] = new Uint8Array(0);
      } else {
        this.#pieceBytes[id] = enc.encode(t.replaceAll(SPACE, " "));
      }
      this.#maxPieceBytes = Math.max(this.#maxPieceBytes, Buffer.byteLength(t, "utf8"));
      // only text pieces match text (control and byte tokens never do); first id wins for duplicates
      if ((type === TokenType.Normal || type === TokenType.UserDefined) && !this.#ids.has(t)) this.#ids.set(t, id);
    });
  }

  /** The tokenizer of a GGUF file; "unsupported tokenizer" unless tokenizer.ggml.model is "llama". */
  static fromGGUF(f: GGUFFile): Tokenizer {
    const model = f.string("tokenizer.ggml.model");
    if (model !== "llama") {
      throw new GGUFError(`GGUF ${f.path}: unsupported tokenizer ${model === undefined ? "null" : q(model)} (tokenizer.ggml.model; supported: "llama", SentencePiece-style)`);
    }
    const tokens = f.array("tokenizer.ggml.tokens");
    if (!tokens || !Array.isArray(tokens.values) || tokens.values.some((t) => typeof t !== "string")) {
      throw new GGUFError(`GGUF ${f.path}: tokenizer.ggml.tokens should be an array of strings, got ${valueText(tokens)}`);
    }
    const n = tokens.values.length;
    if (n < 1) throw new GGUFError(`GGUF ${f.path}: tokenizer.ggml.tokens is empty`);
    const arr = (key: string): ArrayLike<number> | null => {
      const v = f.array(key);
      if (v === undefined) return null;
      if (Array.isArray(v.values) || v.values.length !== n || v.values instanceof BigInt64Array || v.values instanceof BigUint64Array) {
        throw new GGUFError(`GGUF ${f.path}: metadata "${key}" should be a numeric array of ${n} elements, got ${valueText(v)}`);
      }
      return v.values as ArrayLike<number>;
    };
    const id = (key: string, fallback: number): number => {
      const v = f.number(key);
      if (v === undefined) return fallback;
      if (!Number.isInteger(v) || v < 0 || v >= n) throw new GGUFError(`GGUF ${f.path}: ${key} = ${v} is not a token id in [0, ${n})`);
      return v;
    };
    const flag = (key: string, fallback: boolean): boolean => {
      return f.bool(key) ?? fallback;
    };
    return new Tokenizer({
      tokens: tokens.values as string[],
      scores: arr("tokenizer.ggml.scores") ?? new Float32Array(n),
      types: arr("tokenizer.ggml.token_type") ?? new Int32Array(n).fill(TokenType.Normal),
      bos: id("tokenizer.ggml.bos_token_id", 1),
      eos: id("tokenizer.ggml.eos_token_id", 2),
      unk: id("tokenizer.ggml.unknown_token_id", 0),
      addBos: flag("tokenizer.ggml.add_bos_token", true),
      addSpacePrefix: flag("tokenizer.ggml.add_space_prefix", true),
    });
  }

  /**
   * A lower bound of encode(text).length without tokenizing: no token covers more of the text's
   * UTF-8 bytes than the longest piece of the vocabulary. O(1) in the work of encode().
   */
  minTokens(text: string, options: { bos?: boolean } = {}): number {
    if (typeof text !== "string") throw new TypeError(`minTokens text: expected a string, got ${typeof text}`);
    const bos = (options.bos ?? this.addBos) ? 1 : 0;
    return bos + Math.ceil(Buffer.byteLength(text, "utf8") / this.#maxPieceBytes);
  }

  /** The piece of a token as stored in the vocabulary. */
  piece(id: number): string {
    return this.#v.tokens[id];
  }

  /** Text -> token ids (BOS first when `bos`, default: the file's add_bos_token). */
  encode(text: string, options: { bos?: boolean } = {}): number[] {
    if (typeof text !== "string") throw new TypeError(`encode text: expected a string, got ${typeof text}`);
    const out: number[] = [];
    if (options.bos ?? this.addBos) out.push(this.bos);
    if (text.length === 0) return out;
    const s = (this.#v.addSpacePrefix ? " " + text : text).replaceAll(" ", SPACE);
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
      const id = this.#ids.get(t);
      if (id !== undefined) push({ left, right, score: this.#v.scores[id], text: t });
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
      const id = this.#ids.get(syms[i].text);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      for (const byte of enc.encode(syms[i].text)) {
        const bid = this.#byteIds[byte];
        out.push(bid >= 0 ? bid : this.#v.unk);
      }
    }
    return out;
  }

  /** Token ids -> text (the leading space of the first piece removed, as llama.cpp and llama2.c). */
  decode(ids: ArrayLike<number>): string {
    const d = this.decoder();
    let s = "";
    for (let i = 0; i < ids.length; i++) s += d.push(ids[i]);
    return s + d.flush();
  }

  /** A streaming decoder: push ids one at a time, get the text that is complete so far. */
  decoder(): StreamDecoder {
    return new StreamDecoder(this.#pieceBytes, this.#v.addSpacePrefix);
  }
}

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

/**
 * The demo model's vocabulary (32000 pieces): <unk>, <s>, </s>, the 256 byte tokens, printable
 * ASCII, then word pieces ("▁" plus letters) and letter pairs and triples. Synthetic: it tokenizes
 * any text, but it was not learned from data, and the demo's random weights produce random text.
 */
export function demoVocabulary(size = 32000): Vocabulary {
  const tokens: string[] = ["<unk>", "<s>", "</s>"];
  const types: number[] = [TokenType.Unknown, TokenType.Control, TokenType.Control];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TokenType.Byte);
  }
  const seen = new Set<string>();
  const add = (t: string) => {
    if (tokens.length >= size || seen.has(t)) return;
    seen.add(t);
    tokens.push(t);
    types.push(TokenType.Normal);
  };
  add(SPACE);
  for (let c = 33; c < 127; c++) add(String.fromCharCode(c));
  const words = ("the of and to in is was he for it with as his on be at by had are but from or have an they which one you were " +
    "her all she there would their we him been has when who will more no if out so said what up its about into than them can only " +
    "other new some could time these two may then do first any my now such like our over man me even most made after also did many " +
    "before must through back years where much your way well down should because each just those people how too little state good " +
    "very make world still own see men work long get here between both life being under never day same another know while last " +
    "might us great old year off come since against go came right used take three once upon girl boy named lily tom ball park play").split(" ");
  for (const w of words) for (let i = 2; i <= w.length + 1; i++) add(SPACE + w.slice(0, i - 1));
  const letters = "abcdefghijklmnopqrstuvwxyz";
  for (const a of letters) for (const b of letters) add(a + b);
  for (const a of letters) for (const b of letters) add(SPACE + a + b);
  for (const a of letters) for (const b of letters) for (const c of letters) add(a + b + c);
  for (const a of letters) for (const b of letters) for (const c of letters) for (const d of letters) add(a + b + c + d);
  const scores = new Float32Array(tokens.length).map((_, i) => -i);
  return { tokens, scores, types: Int32Array.from(types), bos: 1, eos: 2, unk: 0, addBos: true, addSpacePrefix: true };
}
