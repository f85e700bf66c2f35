// Phi-3 / Phi-3.5 / Phi-4 (`phi3`): Q, K and V fused in one matrix (attn_qkv: rows q | k | v) and
// the FFN's gate and up in ffn_up (rows gate | up, SwiGLU over its halves), NEOX-style RoPE, and
// LongRoPE (Phi-3-mini-128k, Phi-3.5-mini, Phi-4-mini) when the file has it: the factors
// rope_factors_short / _long (chosen by whether the context exceeds
// `rope.scaling.original_context_length`: ../transformer.ts ropeFactorsFor) and
// `rope.scaling.attn_factor` on cos and sin, in both regimes, as llama.cpp runs them (checked in
// test/phi3-longrope-llamacpp.test.ts). Loading splits the fused matrices by rows, so the
// forward pass sees llama's Q, K, V, gate and up. llama.cpp turns Phi-3's sliding window off
// (its PR 13676: the converted windows are unreliable); so does int4.
import { GGUFError, type GGUFFile } from "../../gguf/reader";
import { baseConfig, layerTensor, modelTensors, tensorList } from "./common";
import type { Architecture, LayerSources, ModelConfig } from "./types";

function config(f: GGUFFile, arch: string): ModelConfig {
  const c = baseConfig(f, arch, 2, { longRope: true });
  if (f.tensor("blk.0.attn_qkv.weight") === undefined && f.tensor("blk.0.attn_q.weight") !== undefined) {
    throw new GGUFError(`GGUF ${f.path}: phi3 with separate attn_q/attn_k/attn_v tensors; int4 runs the fused "blk.N.attn_qkv.weight" layout`);
  }
  return c;
}

function layer(c: ModelConfig, l: number): LayerSources {
  const qd = c.nHeads * c.headDim, kv = c.nKvHeads * c.headDim;
  const qkv = `blk.${l}.attn_qkv.weight`, up = layerTensor(l, "up");
  return {
    attnNorm: { tensor: layerTensor(l, "attnNorm") },
    wq: { tensor: qkv, rows: [0, qd] },
    wk: { tensor: qkv, rows: [qd, kv] },
    wv: { tensor: qkv, rows: [qd + kv, kv] },
    wo: { tensor: layerTensor(l, "wo") },
    ffnNorm: { tensor: layerTensor(l, "ffnNorm") },
    gate: { tensor: up, rows: [0, c.hidden] },
    up: { tensor: up, rows: [c.hidden, c.hidden] },
    down: { tensor: layerTensor(l, "down") },
  };
}

export const phi3: Architecture = {
  names: ["phi3"],
  config,
  layer,
  tensors: (c) => tensorList(c, (l) => layer(c, l), modelTensors(c, ["ropeFactorsLong", "ropeFactorsShort"]), {
    "attn_qkv.weight": [c.dim, (c.nHeads + 2 * c.nKvHeads) * c.headDim],
    "ffn_up.weight": [c.dim, 2 * c.hidden],
  }),
};
