// The tokenizer: a vocabulary (vocabulary.ts, read from GGUF metadata), its encoding (spm.ts:
// SentencePiece-style, as llama.cpp's llm_tokenizer_spm; bpe.ts: byte-level BPE, as
// llm_tokenizer_bpe), special tokens in text (special.ts) and a streaming decoder (decoder.ts).
import type { GGUFFile } from "../gguf/reader";
import { BpeEncoder, mergeRanks, preTokenizer } from "./bpe";
import { StreamDecoder } from "./decoder";
import { PRE_TOKENIZERS } from "./pretokenizers";
import { partition, type SpecialToken } from "./special";
import { spmEncode, type SpmModel } from "./spm";
import { CHAR_TO_BYTE } from "./unicode";
import { SPACE, TokenType, checkVocabulary, vocabularyFromGGUF, type Vocabulary } from "./vocabulary";

export { StreamDecoder } from "./decoder";
export { demoVocabulary } from "./demo";
export { PRE_TOKENIZERS } from "./pretokenizers";
export { TokenType, type Vocabulary } from "./vocabulary";

export interface EncodeOptions {
  /** Add BOS first (default: the file's add_bos_token). */
  bos?: boolean;
  /** Add EOS last (default: the file's add_eos_token, false for most models). */
  eos?: boolean;
  /**
   * Match the texts of control tokens ("<|eot_id|>", "<|im_start|>", "<s>", ...) in the text as
   * those tokens (llama.cpp's parse_special). Default false: such text is tokenized as text, so
   * text from users cannot inject control tokens. User-defined tokens always match.
   */
  special?: boolean;
}

export interface DecodeOptions {
  /**
   * Control tokens decode to their text ("<|eot_id|>"); default false: they decode to nothing,
   * as llama.cpp's token_to_piece(special = false) and generation output want.
   */
  special?: boolean;
}

/** Texts llama.cpp takes for end-of-turn tokens when the file names none (tokenizer.ggml.eot_token_id). */
const EOT_TEXTS = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
  "<｜end▁of▁sentence｜>", "<end_of_utterance>"];
/** Texts llama.cpp takes for end-of-generation tokens (llama_vocab::is_eog): generation stops on any. */
const EOG_TEXTS = new Set(["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",
  "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<｜end▁of▁sentence｜>"]);

/**
 * Text to token ids and back for a vocabulary. `encode` follows llama.cpp's tokenizer for the
 * vocabulary's model (SentencePiece-style, spm.ts, or byte-level BPE, bpe.ts); `decoder()`
 * streams complete UTF-8.
 */
export class Tokenizer {
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  /** The end-of-turn token (tokenizer.ggml.eot_token_id, or found by its text as llama.cpp does), or -1. */
  readonly eot: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** "llama" (SentencePiece-style) or "gpt2" (byte-level BPE). */
  readonly model: "llama" | "gpt2";
  /** Every token that ends generation: EOS, EOT, EOM and the end-of-turn tokens llama.cpp knows by text. */
  readonly stopTokens: ReadonlySet<number>;
  readonly #v: Vocabulary;
  readonly #ids = new Map<string, number>();
  readonly #byteIds = new Int32Array(256).fill(-1);
  readonly #pieceBytes: Uint8Array[];
  readonly #specialPieceBytes: Uint8Array[];
  #maxPieceBytes = 1;
  readonly #spm: SpmModel | null = null;
  readonly #bpe: BpeEncoder | null = null;
  readonly #specials: SpecialToken[] = [];

  constructor(v: Vocabulary) {
    checkVocabulary(v);
    this.#v = v;
    this.vocabSize = v.tokens.length;
    this.model = v.model ?? "llama";
    this.bos = v.bos;
    this.eos = v.eos;
    this.addBos = v.addBos;
    this.addEos = v.addEos ?? false;
    const bpe = this.model === "gpt2";
    const enc = new TextEncoder();
    const n = v.tokens.length;
    // llama.cpp looks tokens up by text among all tokens, whatever their type; first id wins
    v.tokens.forEach((t, id) => {
      if (!this.#ids.has(t)) this.#ids.set(t, id);
      this.#maxPieceBytes = Math.max(this.#maxPieceBytes, Buffer.byteLength(t, "utf8"));
    });
    // control tokens: by type, plus end-of-turn tokens by text (llama.cpp makes those control)
    const control = new Uint8Array(n);
    const stop = new Set<number>();
    let eot = v.eot ?? -1;
    // the first text of the list found (llama.cpp takes whichever its hash map yields first; Qwen has
    // both <|im_end|> and <|endoftext|>, and <|im_end|> ends a chat turn)
    for (const t of EOT_TEXTS) if (eot < 0) eot = this.#ids.get(t) ?? -1;
    for (let id = 0; id < n; id++) {
      const type = v.types[id];
      if (type === TokenType.Control || type === TokenType.Unknown) control[id] = 1;
      if (EOG_TEXTS.has(v.tokens[id])) { control[id] = 1; stop.add(id); }
    }
    for (const id of [v.eos, eot, v.eom ?? -1]) if (id >= 0) stop.add(id);
    this.eot = eot;
    this.stopTokens = stop;
    // the pieces of decoding, without and with control tokens' text
    this.#pieceBytes = new Array(n);
    this.#specialPieceBytes = new Array(n);
    const empty = new Uint8Array(0);
    for (let id = 0; id < n; id++) {
      const t = v.tokens[id], type = v.types[id];
      let b: Uint8Array = empty;
      if (control[id]) {
        b = empty;
      } else if (type === TokenType.UserDefined) {
        b = enc.encode(t);
      } else if (type === TokenType.Byte) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(t);
        if (m) {
          if (!bpe) this.#byteIds[parseInt(m[1], 16)] = id;
          b = Uint8Array.of(parseInt(m[1], 16));
        }
      } else if (type === TokenType.Normal) {
        b = bpe ? byteLevelBytes(t) : enc.encode(t.replaceAll(SPACE, " "));
      }
      this.#pieceBytes[id] = b;
      this.#specialPieceBytes[id] = control[id] ? enc.encode(t) : b;
    }
    // special tokens to cut the text at: longest first (llama.cpp's cache_special_tokens)
    const phi3 = /phi-?3/.test((v.name ?? "").toLowerCase());
    for (let id = 0; id < n; id++) {
      if (!control[id] && v.types[id] !== TokenType.UserDefined) continue;
      const text = v.tokens[id];
      // Phi-3: llama.cpp drops the whitespace after its special tokens (except <unk>, <s>, <|endoftext|>)
      const rstrip = phi3 && !["<unk>", "<s>", "<|endoftext|>"].includes(text);
      this.#specials.push({ id, text, control: control[id] === 1, lstrip: false, rstrip });
    }
    this.#specials.sort((a, b) => b.text.length - a.text.length || a.id - b.id);
    if (bpe) {
      const pre = v.pre ?? "default";
      if (!Object.hasOwn(PRE_TOKENIZERS, pre)) {
        throw new RangeError(`Tokenizer vocabulary.pre: expected a pre-tokenizer (${Object.keys(PRE_TOKENIZERS).join(", ")}), got ${JSON.stringify(pre)}`);
      }
      this.#bpe = new BpeEncoder({ ids: this.#ids, ranks: mergeRanks(v.merges!), pre: preTokenizer(pre, ""), merges: v.merges });
    } else {
      this.#spm = { ids: this.#ids, scores: v.scores, byteIds: this.#byteIds, unk: v.unk, addSpacePrefix: v.addSpacePrefix };
    }
  }

  /** The tokenizer of a GGUF file; "unsupported tokenizer" unless tokenizer.ggml.model is "llama" or "gpt2". */
  static fromGGUF(f: GGUFFile): Tokenizer {
    return new Tokenizer(vocabularyFromGGUF(f));
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

  /**
   * Text -> token ids: BOS first when `bos`, EOS last when `eos`, control-token text matched
   * when `special` (EncodeOptions). With { bos: false, eos: false, special: false } the ids are
   * llama.cpp's llama_tokenize(add_special = false, parse_special = false).
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new TypeError(`encode text: expected a string, got ${typeof text}`);
    if (options === null || typeof options !== "object") throw new TypeError(`encode options: expected an object { bos, eos, special }, got ${options === null ? "null" : typeof options}`);
    for (const k of ["bos", "eos", "special"] as const) {
      if (options[k] !== undefined && typeof options[k] !== "boolean") throw new TypeError(`encode options.${k}: expected a boolean, got ${typeof options[k]}`);
    }
    const out: number[] = [];
    if (options.bos ?? this.addBos) out.push(this.bos);
    let prevSpecial = true; // SentencePiece: a text after BOS or a special token gets its leading space
    for (const f of partition(text, this.#specials, options.special ?? false)) {
      if (typeof f === "number") {
        out.push(f);
        prevSpecial = true;
      } else if (this.#bpe) {
        this.#bpe.encode(f, out);
      } else {
        spmEncode(this.#spm!, f, out, prevSpecial);
        prevSpecial = false;
      }
    }
    if (options.eos ?? this.addEos) out.push(this.eos);
    return out;
  }

  /** Token ids -> text (the leading space of the first piece removed for SentencePiece, as llama.cpp and llama2.c). */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const d = this.decoder(options);
    let s = "";
    for (let i = 0; i < ids.length; i++) s += d.push(ids[i]);
    return s + d.flush();
  }

  /** A streaming decoder: push ids one at a time, get the text that is complete so far. */
  decoder(options: DecodeOptions = {}): StreamDecoder {
    if (options === null || typeof options !== "object") throw new TypeError(`decoder options: expected an object { special }, got ${options === null ? "null" : typeof options}`);
    if (options.special !== undefined && typeof options.special !== "boolean") throw new TypeError(`decoder options.special: expected a boolean, got ${typeof options.special}`);
    return new StreamDecoder(options.special ? this.#specialPieceBytes : this.#pieceBytes, this.#v.addSpacePrefix);
  }
}

/** A byte-level BPE token's bytes: each character stands for one byte (a stray character for its own UTF-8). */
function byteLevelBytes(t: string): Uint8Array {
  const out: number[] = [];
  for (const ch of t) {
    const c = ch.codePointAt(0)!;
    const b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    if (b >= 0) out.push(b);
    else for (const x of new TextEncoder().encode(ch)) out.push(x);
  }
  return Uint8Array.from(out);
}
