// Metadata carried from one GGUF file into another (the reader's values as the writer's typed
// ones), and the tokenizer.* keys a new model file needs: a real vocabulary's, copied, or a
// SentencePiece vocabulary's made from its pieces. Used by `int4 quantize`, scripts/make-model.mjs
// and the test models.
import type { GGUFFile, GGUFValue as ReadValue } from "./reader";
import type { GGUFValue } from "./writer";

const READ_TYPE_NAMES = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"] as const;

/** A metadata value as the reader returns it -> the writer's typed value (the same GGUF type). */
export function toWriterValue(type: number, v: ReadValue): GGUFValue {
  const name = READ_TYPE_NAMES[type];
  if (name === "array") {
    const a = v as { type: number; values: ArrayLike<unknown> };
    const item = READ_TYPE_NAMES[a.type];
    if (item === "array") {
      return { type: "array", itemType: "array", value: Array.from(a.values as ArrayLike<ReadValue>, (x) => toWriterValue(9, x) as never) };
    }
    if (item === "bool") return { type: "array", itemType: "bool", value: Array.from(a.values as ArrayLike<number>, (x) => x !== 0) };
    return { type: "array", itemType: item, value: a.values as ArrayLike<never> };
  }
  return { type: name, value: v } as GGUFValue;
}

/** Every tokenizer.* key of a file (a model, or a vocabulary-only GGUF such as ../shared/vocab's). */
export function tokenizerMetadata(f: GGUFFile): [string, GGUFValue][] {
  return [...f.metadata].filter(([k]) => k.startsWith("tokenizer.")).map(([k, v]) => [k, toWriterValue(f.metadataTypes.get(k)!, v)]);
}

/**
 * A SentencePiece ("llama") vocabulary's keys: its pieces with scores -index (earlier pieces merge
 * first) and token types, BOS 1, EOS 2, UNK 0 (the demo vocabulary's layout).
 */
export function spmTokenizerMetadata(tokens: readonly string[], types: ArrayLike<number>): [string, GGUFValue][] {
  return [
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "array", itemType: "string", value: [...tokens] }],
    ["tokenizer.ggml.scores", { type: "array", itemType: "f32", value: Float32Array.from(tokens, (_, i) => -i) }],
    ["tokenizer.ggml.token_type", { type: "array", itemType: "i32", value: Int32Array.from(types) }],
    ["tokenizer.ggml.bos_token_id", { type: "u32", value: 1 }],
    ["tokenizer.ggml.eos_token_id", { type: "u32", value: 2 }],
    ["tokenizer.ggml.unknown_token_id", { type: "u32", value: 0 }],
  ];
}
