// The llama architecture (GGUF `general.architecture` "llama", and "mistral": the same layout):
// its hyperparameters under `<arch>.*`, its tensor names and shapes. The forward pass
// (../llama.ts) is written for this graph; another architecture names its tensors and the few
// places it differs in a file like this one.
import { GGUFError, type GGUFFile } from "../../gguf/reader";
import type { LayerWeights, ModelWeights } from "../weights";
import type { Architecture, ModelConfig } from "./types";

/** Each per-layer field of LayerWeights and its tensor name under `blk.<l>.`. */
export const LAYER_TENSORS = {
  attnNorm: "attn_norm.weight",
  wq: "attn_q.weight",
  wk: "attn_k.weight",
  wv: "attn_v.weight",
  wo: "attn_output.weight",
  ffnNorm: "ffn_norm.weight",
  gate: "ffn_gate.weight",
  up: "ffn_up.weight",
  down: "ffn_down.weight",
} as const satisfies Record<keyof LayerWeights, string>;

/** The model-wide tensors: each field of ModelWeights and its name. */
export const MODEL_TENSORS = {
  embed: "token_embd.weight",
  outputNorm: "output_norm.weight",
  /** absent when the output is tied to the embedding */
  output: "output.weight",
} as const satisfies Partial<Record<keyof ModelWeights, string>>;

/** The name of layer l's tensor for a LayerWeights field. */
export function layerTensor(l: number, field: keyof LayerWeights): string {
  return `blk.${l}.${LAYER_TENSORS[field]}`;
}

/** Fields of LayerWeights that are norms (vectors); the others are matrices. */
export const LAYER_NORMS: readonly (keyof LayerWeights)[] = ["attnNorm", "ffnNorm"];

function num(f: GGUFFile, key: string, fallback?: number): number {
  const v = f.number(key);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new GGUFError(`GGUF ${f.path}: missing metadata "${key}"`);
  }
  return v;
}

function posInt(f: GGUFFile, key: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new GGUFError(`GGUF ${f.path}: metadata "${key}" = ${v}, expected an integer in [1, ${max}]`);
  return v;
}

function config(f: GGUFFile, arch: string): ModelConfig {
  const k = (s: string) => `${arch}.${s}`;
  const dim = posInt(f, k("embedding_length"), num(f, k("embedding_length")), 1 << 16);
  const nLayers = posInt(f, k("block_count"), num(f, k("block_count")), 1024);
  const nHeads = posInt(f, k("attention.head_count"), num(f, k("attention.head_count")), 1024);
  const nKvHeads = posInt(f, k("attention.head_count_kv"), num(f, k("attention.head_count_kv"), nHeads), nHeads);
  if (nHeads % nKvHeads !== 0) throw new GGUFError(`GGUF ${f.path}: head_count ${nHeads} is not a multiple of head_count_kv ${nKvHeads}`);
  const headDim = posInt(f, k("attention.key_length"), num(f, k("attention.key_length"), dim / nHeads), 4096);
  const hidden = posInt(f, k("feed_forward_length"), num(f, k("feed_forward_length")), 1 << 20);
  const emb = f.tensor(MODEL_TENSORS.embed);
  if (!emb) throw new GGUFError(`GGUF ${f.path}: missing tensor "${MODEL_TENSORS.embed}"`);
  const tokens = f.array("tokenizer.ggml.tokens");
  const vocabGuess = emb.ne.length === 2 ? emb.ne[1] : tokens ? tokens.values.length : 0;
  const vocab = posInt(f, k("vocab_size"), num(f, k("vocab_size"), vocabGuess), 1 << 22);
  const ctx = posInt(f, k("context_length"), num(f, k("context_length"), 2048), 1 << 22);
  const eps = num(f, k("attention.layer_norm_rms_epsilon"), 1e-5);
  if (!(eps > 0 && eps < 1)) throw new GGUFError(`GGUF ${f.path}: layer_norm_rms_epsilon ${eps} out of range`);
  const ropeBase = num(f, k("rope.freq_base"), 10000);
  if (!(ropeBase > 1)) throw new GGUFError(`GGUF ${f.path}: rope.freq_base ${ropeBase} out of range`);
  const nRot = posInt(f, k("rope.dimension_count"), num(f, k("rope.dimension_count"), headDim), headDim);
  if (nRot % 2 !== 0) throw new GGUFError(`GGUF ${f.path}: rope.dimension_count ${nRot} is odd`);
  return { arch, dim, nLayers, nHeads, nKvHeads, headDim, hidden, vocab, ctx, eps, ropeBase, nRot, ropeMode: 0 };
}

/** The tensors of a llama model and their shapes in ggml order (ne[0] = row length); required or not. */
function tensors(c: ModelConfig): [string, number[], boolean][] {
  const q = c.nHeads * c.headDim, kv = c.nKvHeads * c.headDim;
  const list: [string, number[], boolean][] = [
    [MODEL_TENSORS.embed, [c.dim, c.vocab], true],
    [MODEL_TENSORS.outputNorm, [c.dim], true],
    [MODEL_TENSORS.output, [c.dim, c.vocab], false],
  ];
  const shapes: Record<keyof LayerWeights, number[]> = {
    attnNorm: [c.dim], wq: [c.dim, q], wk: [c.dim, kv], wv: [c.dim, kv], wo: [q, c.dim],
    ffnNorm: [c.dim], gate: [c.dim, c.hidden], up: [c.dim, c.hidden], down: [c.hidden, c.dim],
  };
  for (let l = 0; l < c.nLayers; l++) {
    for (const field of Object.keys(LAYER_TENSORS) as (keyof LayerWeights)[]) list.push([layerTensor(l, field), shapes[field], true]);
  }
  return list;
}

export const llama: Architecture = { names: ["llama", "mistral"], config, tensors };
