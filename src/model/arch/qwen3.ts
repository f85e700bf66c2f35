// Qwen3 (`qwen3`): llama's layer with an RMSNorm on each head of Q and of K (attn_q_norm,
// attn_k_norm: headDim weights shared by the heads) before RoPE, NEOX-style RoPE, no biases.
import { LLAMA_FIELDS, baseConfig, modelTensors, standardLayer, tensorList } from "./common";
import type { Architecture, ModelConfig } from "./types";

const layer = (_c: ModelConfig, l: number) => standardLayer(l, [...LLAMA_FIELDS, "qNorm", "kNorm"]);

export const qwen3: Architecture = {
  names: ["qwen3"],
  config: (f, arch) => baseConfig(f, arch, 2),
  layer,
  tensors: (c) => tensorList(c, (l) => layer(c, l), modelTensors(c)),
};
