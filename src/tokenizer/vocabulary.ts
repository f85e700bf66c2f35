// A vocabulary as GGUF files hold it (tokenizer.ggml.*): the pieces, their scores and types, the
// special ids and flags, checked for consistency; and reading one from a GGUF file.
import { rangeError, typeError } from "../errors";
import { GGUFError, q, valueText, type GGUFFile } from "../gguf/reader";

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
}

/** The vocabulary of a GGUF file; "unsupported tokenizer" unless tokenizer.ggml.model is "llama". */
export function vocabularyFromGGUF(f: GGUFFile): Vocabulary {
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
  return {
    tokens: tokens.values as string[],
    scores: arr("tokenizer.ggml.scores") ?? new Float32Array(n),
    types: arr("tokenizer.ggml.token_type") ?? new Int32Array(n).fill(TokenType.Normal),
    bos: id("tokenizer.ggml.bos_token_id", 1),
    eos: id("tokenizer.ggml.eos_token_id", 2),
    unk: id("tokenizer.ggml.unknown_token_id", 0),
    addBos: flag("tokenizer.ggml.add_bos_token", true),
    addSpacePrefix: flag("tokenizer.ggml.add_space_prefix", true),
  };

}
