// What an architecture file declares (see llama.ts): the GGUF names it answers to, how its
// hyperparameters are read, and its tensors with their shapes.
import type { GGUFFile } from "../../gguf/reader";

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
  /** 0: llama.cpp "normal" (interleaved pairs). */
  ropeMode: 0 | 2;
}

export interface Architecture {
  /** Values of `general.architecture` this file describes. */
  names: readonly string[];
  /** Hyperparameters from the metadata under `<arch>.*`, checked against each other. */
  config(f: GGUFFile, arch: string): ModelConfig;
  /** Tensors: name, shape in ggml order (ne[0] = row length), and whether the file must have it. */
  tensors(c: ModelConfig): [name: string, ne: number[], required: boolean][];
}
