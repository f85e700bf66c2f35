// The llama architecture (GGUF `general.architecture` "llama", and "mistral": the same layout),
// Llama 1-3: its hyperparameters under `<arch>.*`, its tensor names and shapes. Llama 3 adds
// `rope_freqs.weight` (per-dimension RoPE frequency factors: the converter bakes the llama3
// scaling into it), often a tied output and a 128k vocabulary; the shapes cover those.
// A sliding window (`<arch>.attention.sliding_window`, Mistral 7B v0.1) is honoured where the
// metadata sets one; llama.cpp reads no window for llama and attends to every position.
import type { GGUFFile } from "../../gguf/reader";
import { LLAMA_FIELDS, baseConfig, modelTensors, slidingWindow, standardLayer, tensorList } from "./common";
import type { Architecture, ModelConfig } from "./types";

function config(f: GGUFFile, arch: string): ModelConfig {
  const c = baseConfig(f, arch, 0);
  const window = slidingWindow(f, arch);
  if (window > 0) c.window = window;
  return c;
}

const layer = (_c: ModelConfig, l: number) => standardLayer(l, LLAMA_FIELDS);

export const llama: Architecture = {
  names: ["llama", "mistral"],
  config,
  layer,
  tensors: (c) => tensorList(c, (l) => layer(c, l), modelTensors(c, ["ropeFreqs"])),
};
