// A vocabulary as GGUF files hold it (tokenizer.ggml.*): the pieces, their scores and types, the
// special ids and flags, checked for consistency; and reading one from a GGUF file.
import { rangeError, typeError } from "../errors";
import { GGUFError, q, valueText, type GGUFFile } from "../gguf/reader";
import { preTokenizer } from "./bpe";

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
  /** tokenizer.ggml.model: "llama" (SentencePiece-style, the default) or "gpt2" (byte-level BPE). */
  model?: "llama" | "gpt2";
  /** tokenizer.ggml.pre: the pre-tokenizer of a "gpt2" vocabulary (pretokenizers.ts), default "default". */
  pre?: string;
  /** tokenizer.ggml.merges of a "gpt2" vocabulary: "left right", first merged first. */
  merges?: string[];
  /** Add EOS at the end of encode() (tokenizer.ggml.add_eos_token; default false). */
  addEos?: boolean;
  /** tokenizer.ggml.eot_token_id / eom_token_id (-1 or absent: found by text, as llama.cpp does). */
  eot?: number;
  eom?: number;
  /** general.name: llama.cpp strips spaces after the special tokens of Phi-3 models, named so. */
  name?: string;
}

/** "▁" (U+2581): how SentencePiece vocabularies write a space. */
export const SPACE = "\u2581";

function isNumbers(a: unknown): a is ArrayLike<number> {
  return ArrayBuffer.isView(a) ? !(a instanceof DataView) && !(a instanceof BigInt64Array) && !(a instanceof BigUint64Array)
    : Array.isArray(a) && a.every((x) => typeof x === "number");
}

/** The checks of `new Tokenizer(v)`: each field of the right kind, lengths and ids consistent. */
export function checkVocabulary(v: Vocabulary): void {
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
  if (v.addEos !== undefined && typeof v.addEos !== "boolean") throw typeError("Tokenizer vocabulary.addEos", "a boolean", v.addEos);
  for (const k of ["eot", "eom"] as const) {
    const id = v[k];
    if (id === undefined) continue;
    if (typeof id !== "number") throw typeError(`Tokenizer vocabulary.${k}`, "a token id", id);
    if (!Number.isInteger(id) || id < -1 || id >= n) throw rangeError(`Tokenizer vocabulary.${k}`, `a token id in [0, ${n}) or -1 (none)`, id);
  }
  if (v.model !== undefined && v.model !== "llama" && v.model !== "gpt2") throw rangeError("Tokenizer vocabulary.model", `"llama" or "gpt2"`, v.model);
  if (v.pre !== undefined && typeof v.pre !== "string") throw typeError("Tokenizer vocabulary.pre", "a string", v.pre);
  if (v.name !== undefined && typeof v.name !== "string") throw typeError("Tokenizer vocabulary.name", "a string", v.name);
  if (v.model === "gpt2") {
    if (!Array.isArray(v.merges)) throw typeError("Tokenizer vocabulary.merges", "an array of strings (a gpt2 vocabulary merges)", v.merges);
    const m = v.merges.findIndex((t) => typeof t !== "string");
    if (m >= 0) throw typeError(`Tokenizer vocabulary.merges[${m}]`, "a string", v.merges[m]);
  }
}

/**
 * The vocabulary of a GGUF file; "unsupported tokenizer" unless tokenizer.ggml.model is "llama"
 * (SentencePiece-style) or "gpt2" (byte-level BPE, whose tokenizer.ggml.pre must be known).
 */
export function vocabularyFromGGUF(f: GGUFFile): Vocabulary {
  const model = f.string("tokenizer.ggml.model");
  if (model !== "llama" && model !== "gpt2") {
    throw new GGUFError(`GGUF ${f.path}: unsupported tokenizer ${model === undefined ? "null" : q(model)} (tokenizer.ggml.model; supported: "llama", SentencePiece-style, and "gpt2", byte-level BPE)`);
  }
  const bpe = model === "gpt2";
  // llama.cpp: a BPE file without tokenizer.ggml.pre gets the "default" pre-tokenizer (with a warning)
  const pre = bpe ? f.string("tokenizer.ggml.pre") ?? "default" : undefined;
  const preType = pre === undefined ? undefined : preTokenizer(pre, f.path);
  let merges: string[] | undefined;
  if (bpe) {
    const m = f.array("tokenizer.ggml.merges");
    if (!m || !Array.isArray(m.values) || m.values.some((t) => typeof t !== "string")) {
      throw new GGUFError(`GGUF ${f.path}: tokenizer.ggml.merges should be an array of strings (a gpt2 tokenizer's merges), got ${valueText(m)}`);
    }
    merges = m.values as string[];
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
    if (v === undefined) return fallback < n ? fallback : -1; // llama.cpp: a default out of the vocabulary is none
    if (!Number.isInteger(v) || v < 0 || v >= n) throw new GGUFError(`GGUF ${f.path}: ${key} = ${v} is not a token id in [0, ${n})`);
    return v;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    return f.bool(key) ?? fallback;
  };
  // the defaults are llama.cpp's (llama_vocab::impl::load), BPE ones included (BOS = EOS = 11)
  const bos = preType?.noBos ? -1 : id("tokenizer.ggml.bos_token_id", bpe ? 11 : 1);
  const addBos = flag("tokenizer.ggml.add_bos_token", bpe ? preType!.addBos : true);
  if (addBos && bos < 0) throw new GGUFError(`GGUF ${f.path}: tokenizer.ggml.add_bos_token is true, but there is no BOS token (tokenizer.ggml.bos_token_id)`);
  const eos = id("tokenizer.ggml.eos_token_id", bpe ? 11 : 2);
  const addEos = flag("tokenizer.ggml.add_eos_token", false);
  if (addEos && eos < 0) throw new GGUFError(`GGUF ${f.path}: tokenizer.ggml.add_eos_token is true, but there is no EOS token (tokenizer.ggml.eos_token_id)`);
  const name = f.get("general.name");
  return {
    tokens: tokens.values as string[],
    scores: arr("tokenizer.ggml.scores") ?? new Float32Array(n),
    types: arr("tokenizer.ggml.token_type") ?? new Int32Array(n).fill(TokenType.Normal),
    bos,
    eos,
    unk: id("tokenizer.ggml.unknown_token_id", bpe ? -1 : 0),
    addBos,
    addSpacePrefix: flag("tokenizer.ggml.add_space_prefix", !bpe),
    model,
    pre,
    merges,
    addEos,
    eot: id("tokenizer.ggml.eot_token_id", -1),
    eom: id("tokenizer.ggml.eom_token_id", -1),
    name: typeof name === "string" ? name : undefined,
  };

}
