// What an architecture file declares (see llama.ts): the GGUF names it answers to, how its
// hyperparameters are read, its tensors with their shapes, where each weight of a layer comes
// from, and (in ModelConfig) the few ways its layer differs from llama's. The forward pass
// (../transformer.ts) reads these declarations; it never asks which architecture it runs.
import type { GGUFFile } from "../../gguf/reader";
import type { LayerWeights } from "../weights";

export interface ModelConfig {
  arch: string;
  /** Model width (embedding length). */
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** FFN width. */
  hidden: number;
  vocab: number;
  /** Training context length. */
  ctx: number;
  eps: number;
  ropeBase: number;
  /** Dimensions of each head that RoPE rotates. */
  nRot: number;
  /** 0: llama.cpp "normal" (interleaved pairs); 2: "neox" (halves). */
  ropeMode: 0 | 2;

  // ---- the ways a layer differs from llama's; absent = llama's behaviour ----
  /** RoPE angles times this: 1 / the linear scaling factor (`rope.scaling.factor`). Default 1. */
  ropeFreqScale?: number;
  /** RoPE's cos and sin times this (`rope.scaling.attn_factor`). Default 1. */
  ropeAttnFactor?: number;
  /** Context RoPE was trained at: beyond it Phi-3 uses rope_factors_long instead of _short. */
  ropeOrigCtx?: number;
  /** Attention scores are q.k * attnScale. Default 1/sqrt(headDim). */
  attnScale?: number;
  /** Attention scores soft-capped to ±attnSoftcap (cap * tanh(s / cap)); 0/absent: none. */
  attnSoftcap?: number;
  /** Logits soft-capped likewise; 0/absent: none. */
  finalSoftcap?: number;
  /** The embedding rows times this (Gemma: sqrt(dim)). Default 1. */
  embedScale?: number;
  /** The FFN gate's activation: SwiGLU's SiLU or GeGLU's GELU (tanh approximation). Default silu. */
  act?: "silu" | "gelu";
  /** A sliding window of this many positions (a query at p sees keys t with p - t < window); 0/absent: none. */
  window?: number;
  /** Which layers use the window (absent: all of them when window is set). */
  swaLayers?: boolean[];
  /** RoPE base and scale of the sliding-window layers (Gemma 3); default the others'. */
  ropeBaseSwa?: number;
  ropeFreqScaleSwa?: number;
}

/** Where one field of LayerWeights comes from: a tensor, or rows [start, start + n) of a fused one. */
export interface Source {
  tensor: string;
  rows?: [start: number, n: number];
}

export type LayerSources = Partial<Record<keyof LayerWeights, Source>>;

export interface Architecture {
  /** Values of `general.architecture` this file describes. */
  names: readonly string[];
  /** Hyperparameters from the metadata under `<arch>.*`, checked against each other. */
  config(f: GGUFFile, arch: string): ModelConfig;
  /** Tensors: name, shape in ggml order (ne[0] = row length), and whether the file must have it. */
  tensors(c: ModelConfig): [name: string, ne: number[], required: boolean][];
  /**
   * Layer l's weights: each field of LayerWeights the architecture has and its source. Optional
   * fields (biases, per-head norms, post-norms) are absent when the architecture has none; an
   * optional tensor the file lacks is left out at load.
   */
  layer(c: ModelConfig, l: number): LayerSources;
}
