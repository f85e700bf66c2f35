// Model hyperparameters from GGUF metadata: the architecture (./arch) reads them; they are checked
// against the tensor shapes before anything big is allocated.
import type { GGUFFile } from "../gguf/reader";
import { GGUFError, q } from "../gguf/reader";
import { ARCHITECTURES, architecture, type Architecture, type ModelConfig } from "./arch";

export type { ModelConfig } from "./arch";

/** The values of `general.architecture` int4 runs. */
export { ARCHITECTURES } from "./arch";

/** The model's hyperparameters, from its architecture's description (./arch), checked against the tensor shapes. */
export function configFromGGUF(f: GGUFFile): ModelConfig {
  const name = f.string("general.architecture");
  if (name === undefined) throw new GGUFError(`GGUF ${f.path}: missing metadata "general.architecture"`);
  const arch = architecture(name);
  if (!arch) throw new GGUFError(`GGUF ${f.path}: unsupported architecture ${q(name)} (supported: ${ARCHITECTURES.join(", ")})`);
  const cfg = arch.config(f, name);
  checkShapes(f, cfg, arch);
  return cfg;
}

/** The tensors of the model of config `c` and their shapes in ggml order (ne[0] = row length). */
export function expectedTensors(c: ModelConfig): [string, number[], boolean][] {
  return architecture(c.arch)!.tensors(c);
}

function checkShapes(f: GGUFFile, c: ModelConfig, arch: Architecture): void {
  for (const [name, ne, required] of arch.tensors(c)) {
    const t = f.tensor(name);
    if (!t) {
      if (required) throw new GGUFError(`GGUF ${f.path}: missing tensor "${name}" for ${c.arch} with ${c.nLayers} layers`);
      continue;
    }
    if (t.ne.length !== ne.length || t.ne.some((n, i) => n !== ne[i])) {
      throw new GGUFError(`GGUF ${f.path}: tensor "${name}" has shape [${t.ne.join(", ")}], expected [${ne.join(", ")}] for ${c.arch} (dim ${c.dim}, heads ${c.nHeads}/${c.nKvHeads}, ffn ${c.hidden}, vocab ${c.vocab})`);
    }
  }
}

/** TinyLlama-1.1B's shape: the built-in demo model. */
export const DEMO_CONFIG: ModelConfig = {
  arch: "llama", dim: 2048, nLayers: 22, nHeads: 32, nKvHeads: 4, headDim: 64, hidden: 5632, vocab: 32000,
  ctx: 2048, eps: 1e-5, ropeBase: 10000, nRot: 64, ropeMode: 0,
};
