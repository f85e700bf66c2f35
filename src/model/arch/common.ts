// What the architecture files share: reading and checking hyperparameters, and llama's layer
// (tensor names and shapes) that the others extend.
import { GGUFError, q, type GGUFFile } from "../../gguf/reader";
import type { LayerWeights } from "../weights";
import type { LayerSources, ModelConfig } from "./types";

export function num(f: GGUFFile, key: string, fallback?: number): number {
  const v = f.number(key);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new GGUFError(`GGUF ${f.path}: missing metadata "${key}"`);
  }
  return v;
}

export function posInt(f: GGUFFile, key: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new GGUFError(`GGUF ${f.path}: metadata "${key}" = ${v}, expected an integer in [1, ${max}]`);
  return v;
}

export function positive(f: GGUFFile, key: string, v: number): number {
  if (!(v > 0 && Number.isFinite(v))) throw new GGUFError(`GGUF ${f.path}: metadata "${key}" = ${v}, expected a positive number`);
  return v;
}

/** Each per-layer field of llama's LayerWeights and its tensor name under `blk.<l>.`. */
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
} as const;

/** The optional per-layer fields other architectures add, and their tensor names. */
export const EXTRA_LAYER_TENSORS = {
  bq: "attn_q.bias",
  bk: "attn_k.bias",
  bv: "attn_v.bias",
  qNorm: "attn_q_norm.weight",
  kNorm: "attn_k_norm.weight",
  postAttnNorm: "post_attention_norm.weight",
  postFfnNorm: "post_ffw_norm.weight",
} as const;

/** The model-wide tensors: each field of ModelWeights and its name. */
export const MODEL_TENSORS = {
  embed: "token_embd.weight",
  outputNorm: "output_norm.weight",
  /** absent when the output is tied to the embedding */
  output: "output.weight",
  /** Llama 3's per-dimension RoPE frequency factors (nRot/2) */
  ropeFreqs: "rope_freqs.weight",
  /** Phi-3's LongRoPE factors, for contexts beyond / within the original one */
  ropeFactorsLong: "rope_factors_long.weight",
  ropeFactorsShort: "rope_factors_short.weight",
} as const;

/** The name of layer l's llama tensor for a LayerWeights field. */
export function layerTensor(l: number, field: keyof typeof LAYER_TENSORS | keyof typeof EXTRA_LAYER_TENSORS): string {
  return `blk.${l}.${(LAYER_TENSORS as Record<string, string>)[field] ?? (EXTRA_LAYER_TENSORS as Record<string, string>)[field]}`;
}

/** Fields of LayerWeights that are vectors (norms, biases); the others are matrices. */
export const LAYER_VECTORS: readonly (keyof LayerWeights)[] = ["attnNorm", "ffnNorm", "bq", "bk", "bv", "qNorm", "kNorm", "postAttnNorm", "postFfnNorm"];
/** The norms among them (llama's two). */
export const LAYER_NORMS: readonly (keyof LayerWeights)[] = ["attnNorm", "ffnNorm"];

/** llama's hyperparameters under `<arch>.*`, read and checked; the architecture adds its own. */
export function baseConfig(f: GGUFFile, arch: string, ropeMode: 0 | 2, opts: { longRope?: boolean } = {}): ModelConfig {
  const k = (s: string) => `${arch}.${s}`;
  const dim = posInt(f, k("embedding_length"), num(f, k("embedding_length")), 1 << 16);
  const nLayers = posInt(f, k("block_count"), num(f, k("block_count")), 1024);
  const nHeads = posInt(f, k("attention.head_count"), num(f, k("attention.head_count")), 1024);
  const nKvHeads = posInt(f, k("attention.head_count_kv"), num(f, k("attention.head_count_kv"), nHeads), nHeads);
  if (nHeads % nKvHeads !== 0) throw new GGUFError(`GGUF ${f.path}: head_count ${nHeads} is not a multiple of head_count_kv ${nKvHeads}`);
  const headDim = posInt(f, k("attention.key_length"), num(f, k("attention.key_length"), dim / nHeads), 4096);
  const vLen = num(f, k("attention.value_length"), headDim);
  if (vLen !== headDim) throw new GGUFError(`GGUF ${f.path}: attention.value_length ${vLen} differs from key_length ${headDim}, which int4 does not run`);
  const hidden = posInt(f, k("feed_forward_length"), num(f, k("feed_forward_length")), 1 << 20);
  const emb = f.tensor(MODEL_TENSORS.embed);
  if (!emb) throw new GGUFError(`GGUF ${f.path}: missing tensor "${MODEL_TENSORS.embed}"`);
  const tokens = f.array("tokenizer.ggml.tokens");
  const vocabGuess = emb.ne.length === 2 ? emb.ne[1] : tokens ? tokens.values.length : 0;
  const vocab = posInt(f, k("vocab_size"), num(f, k("vocab_size"), vocabGuess), 1 << 22);
  const ctx = posInt(f, k("context_length"), num(f, k("context_length"), 2048), 1 << 24);
  const eps = num(f, k("attention.layer_norm_rms_epsilon"), 1e-5);
  if (!(eps > 0 && eps < 1)) throw new GGUFError(`GGUF ${f.path}: layer_norm_rms_epsilon ${eps} out of range`);
  const ropeBase = num(f, k("rope.freq_base"), 10000);
  if (!(ropeBase > 1)) throw new GGUFError(`GGUF ${f.path}: rope.freq_base ${ropeBase} out of range`);
  const nRot = posInt(f, k("rope.dimension_count"), num(f, k("rope.dimension_count"), headDim), headDim);
  if (nRot % 2 !== 0) throw new GGUFError(`GGUF ${f.path}: rope.dimension_count ${nRot} is odd`);
  const c: ModelConfig = { arch, dim, nLayers, nHeads, nKvHeads, headDim, hidden, vocab, ctx, eps, ropeBase, nRot, ropeMode };
  // RoPE scaling: linear (a factor on every angle) as llama.cpp reads it (llama_model::load_hparams):
  // a file without a type is "linear", and its factor is rope.scaling.factor or the older
  // rope.scale_linear (0 or absent: none); only an explicit "none" ignores the factor. Llama 3's
  // scaling is in its rope_freqs tensor (the converter computes it), not here. YaRN is not
  // implemented. "longrope" where the architecture reads LongRoPE's factor tensors (opts.longRope:
  // phi3): for llama.cpp it is no YaRN and the factor, like linear (Phi-3's converter writes no type).
  const type = f.string(k("rope.scaling.type")) ?? "linear";
  const supported = opts.longRope ? ["none", "linear", "longrope"] : ["none", "linear"];
  const factorKey = f.number(k("rope.scaling.factor")) !== undefined ? k("rope.scaling.factor") : k("rope.scale_linear");
  const factor = num(f, factorKey, 0);
  if ((type === "linear" || type === "longrope") && factor !== 0) c.ropeFreqScale = 1 / positive(f, factorKey, factor);
  if (!supported.includes(type)) throw new GGUFError(`GGUF ${f.path}: metadata "${k("rope.scaling.type")}" = ${q(type)}, which int4 does not run for ${arch} (supported: ${supported.join(", ")})`);
  const attnFactor = f.number(k("rope.scaling.attn_factor"));
  if (attnFactor !== undefined) c.ropeAttnFactor = positive(f, k("rope.scaling.attn_factor"), attnFactor);
  const orig = f.number(k("rope.scaling.original_context_length"));
  if (orig !== undefined) c.ropeOrigCtx = posInt(f, k("rope.scaling.original_context_length"), orig, 1 << 24);
  return c;
}

/** The sliding window `<arch>.attention.sliding_window`, if the metadata sets one (0: none). */
export function slidingWindow(f: GGUFFile, arch: string, fallback = 0): number {
  const key = `${arch}.attention.sliding_window`;
  const v = f.number(key);
  if (v === undefined || v === 0) return fallback;
  return posInt(f, key, v, 1 << 24);
}

/** A model-wide tensor list: embedding, final norm, optional output (tied when absent), RoPE factors if any. */
export function modelTensors(c: ModelConfig, ropeFactors: (keyof typeof MODEL_TENSORS)[] = []): [string, number[], boolean][] {
  return [
    [MODEL_TENSORS.embed, [c.dim, c.vocab], true],
    [MODEL_TENSORS.outputNorm, [c.dim], true],
    [MODEL_TENSORS.output, [c.dim, c.vocab], false],
    ...ropeFactors.map((n): [string, number[], boolean] => [MODEL_TENSORS[n], [c.nRot / 2], false]),
  ];
}

/** The shape of each LayerWeights field (ggml order) of a model with config c, unfused. */
export function fieldShapes(c: ModelConfig): Record<keyof LayerWeights, number[]> {
  const qd = c.nHeads * c.headDim, kv = c.nKvHeads * c.headDim;
  return {
    attnNorm: [c.dim], wq: [c.dim, qd], wk: [c.dim, kv], wv: [c.dim, kv], wo: [qd, c.dim],
    ffnNorm: [c.dim], gate: [c.dim, c.hidden], up: [c.dim, c.hidden], down: [c.hidden, c.dim],
    bq: [qd], bk: [kv], bv: [kv], qNorm: [c.headDim], kNorm: [c.headDim], postAttnNorm: [c.dim], postFfnNorm: [c.dim],
  };
}

/** Layer l's sources for the given fields under their standard names. */
export function standardLayer(l: number, fields: readonly (keyof LayerWeights)[]): LayerSources {
  const s: LayerSources = {};
  for (const field of fields) s[field] = { tensor: layerTensor(l, field as keyof typeof LAYER_TENSORS) };
  return s;
}

export const LLAMA_FIELDS = Object.keys(LAYER_TENSORS) as (keyof typeof LAYER_TENSORS)[];

/**
 * Every tensor of an architecture: the model-wide ones and, per layer, each source's tensor once
 * (a fused tensor's shape is given by `fused`), all required.
 */
export function tensorList(c: ModelConfig, layer: (l: number) => LayerSources, model: [string, number[], boolean][],
                           fused: Record<string, number[]> = {}): [string, number[], boolean][] {
  const shapes = fieldShapes(c);
  const list = [...model];
  for (let l = 0; l < c.nLayers; l++) {
    const seen = new Set<string>();
    for (const [field, src] of Object.entries(layer(l)) as [keyof LayerWeights, { tensor: string; rows?: [number, number] }][]) {
      if (seen.has(src.tensor)) continue;
      seen.add(src.tensor);
      const suffix = src.tensor.slice(src.tensor.indexOf(".", 4) + 1);
      list.push([src.tensor, fused[suffix] ?? shapes[field], true]);
    }
  }
  return list;
}
