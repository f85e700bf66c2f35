// Qwen2 / Qwen2.5 (`qwen2`): llama's layer with biases on Q, K and V, and NEOX-style RoPE
// (llama.cpp's LLAMA_ROPE_TYPE_NEOX for this architecture).
import { LLAMA_FIELDS, baseConfig, modelTensors, standardLayer, tensorList } from "./common";
import type { Architecture, ModelConfig } from "./types";

const layer = (_c: ModelConfig, l: number) => standardLayer(l, [...LLAMA_FIELDS, "bq", "bk", "bv"]);

export const qwen2: Architecture = {
  names: ["qwen2"],
  config: (f, arch) => baseConfig(f, arch, 2),
  layer,
  tensors: (c) => tensorList(c, (l) => layer(c, l), modelTensors(c)),
};
