// The registry of architectures: `general.architecture` -> its description. Adding one is a file
// beside llama.ts, a line here, and a model of it in test/arch-llamacpp.test.ts.
import type { Architecture } from "./types";
import { gemma2, gemma3 } from "./gemma";
import { llama } from "./llama";
import { phi3 } from "./phi3";
import { qwen2 } from "./qwen2";
import { qwen3 } from "./qwen3";

export type { Architecture, LayerSources, ModelConfig, Source } from "./types";
export { LAYER_NORMS, LAYER_TENSORS, LAYER_VECTORS, LLAMA_FIELDS, MODEL_TENSORS, layerTensor } from "./common";

const REGISTRY: readonly Architecture[] = [llama, qwen2, qwen3, phi3, gemma2, gemma3];

export const ARCHITECTURES: readonly string[] = REGISTRY.flatMap((a) => a.names);

/** The architecture for a `general.architecture` value, or undefined. */
export function architecture(name: string): Architecture | undefined {
  return REGISTRY.find((a) => a.names.includes(name));
}
