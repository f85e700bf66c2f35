// The registry of architectures: `general.architecture` -> its description. Adding one is a file
// beside llama.ts and a line here.
import type { Architecture } from "./types";
import { llama } from "./llama";

export type { Architecture, ModelConfig } from "./types";
export { LAYER_NORMS, LAYER_TENSORS, MODEL_TENSORS, layerTensor } from "./llama";

const REGISTRY: readonly Architecture[] = [llama];

export const ARCHITECTURES: readonly string[] = REGISTRY.flatMap((a) => a.names);

/** The architecture for a `general.architecture` value, or undefined. */
export function architecture(name: string): Architecture | undefined {
  return REGISTRY.find((a) => a.names.includes(name));
}
