// int4's side of a comparison with llama.cpp (bench/lib/llamacpp.mjs): the same numbers from a
// loaded int4 engine, on the calling thread. Scripts load the compiled package (dist/); tests
// pass an engine loaded from src/ to the same functions.
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "dist");

/**
 * The quant that runs a file's matrices as the file stores them: "native" where this int4 has it,
 * otherwise "stored" (4-bit tensors kept, every other matrix at f32 with its stored values).
 */
export function fileQuant(parseQuant) {
  try {
    parseQuant("native");
    return "native";
  } catch {
    return "stored";
  }
}

/** Loads a GGUF file into int4 on this thread (the compiled package). */
export function loadInt4(file, { quant, threads = 1, ctx } = {}) {
  const { loadEngine } = require(path.join(dist, "model", "engine.js"));
  const { parseQuant } = require(path.join(dist, "model", "quant.js"));
  return loadEngine({ source: { kind: "gguf", path: path.resolve(file) }, quant: quant ?? fileQuant(parseQuant), threads, ctx });
}

/** Teacher forcing: Float32Array [tokens.length, vocab] of the logits after each token (one batch). */
export function int4Logits(engine, tokens) {
  return engine.transformer.forwardAll(tokens, 0).slice();
}

/** Greedy continuation of `prompt` by `n` tokens: { ids, logits: Float32Array [n, vocab] }. */
export function int4Greedy(engine, prompt, n) {
  const V = engine.transformer.config.vocab;
  const ids = [], out = new Float32Array(n * V);
  let logits = engine.transformer.forward(prompt, 0);
  for (let i = 0; i < n; i++) {
    out.set(logits, i * V);
    let b = 0;
    for (let j = 1; j < V; j++) if (logits[j] > logits[b]) b = j; // ties: the lowest id, as llama.cpp's greedy sampler
    ids.push(b);
    if (i < n - 1) logits = engine.transformer.forward([b], prompt.length + i);
  }
  return { ids, logits: out };
}

/** Which matrices share one input (one rounding of it per engine): the sites of a llama layer. */
const SITES = { wq: "attn_in", wk: "attn_in", wv: "attn_in", wo: "attn_out", gate: "ffn_in", up: "ffn_in", down: "ffn_out" };
const LAYER_NAMES = { wq: "attn_q", wk: "attn_k", wv: "attn_v", wo: "attn_output", gate: "ffn_gate", up: "ffn_up", down: "ffn_down" };
/** Relative squared error of one rounding to f16 at most (u = 2^-11, uniform error within ±u): u²/3. */
const F16_REL2 = 2 ** -22 / 3;

/**
 * The rounding budget of an int4 / llama.cpp comparison (see test/llamacpp.test.ts for the
 * derivation): runs int4 over `tokens` and, at every input of a matrix, measures on the actual
 * activations x how far apart the two engines' roundings of x are, ε² = ||R_int4(x) - R_llama(x)||² /
 * ||x||² (each site: the largest over the matrices sharing that input). Returns the sum over sites
 * plus llama.cpp's f16 rounding of Q, K and V in attention (its KV cache is F16), and the sites.
 * `typeOf(name)` gives a tensor's GGUF type name.
 */
export function roundingBudget(engine, tokens, typeOf, { relativeDifference, llamaCppActivations, int4Activations }) {
  const w = engine.weights, names = new Map();
  w.layers.forEach((layer, l) => {
    // the tensor the matrix came from (a fused one's name for its parts: Phi-3's attn_qkv, ffn_up)
    for (const f of Object.keys(SITES)) names.set(layer[f], { name: w.tensorNames?.get(layer[f]) ?? `blk.${l}.${LAYER_NAMES[f]}.weight`, site: `blk.${l}.${SITES[f]}` });
  });
  names.set(w.output, { name: w.tied ? "token_embd.weight" : "output.weight", site: "output" });
  const sites = new Map();
  const llama = engine.transformer;
  llama.onLinearInput = (linear, x) => {
    const n = names.get(linear);
    if (!n) return;
    const [M, K] = x.dims;
    const e2 = relativeDifference(int4Activations(linear), llamaCppActivations(typeOf(n.name)), x.data, M, K);
    sites.set(n.site, Math.max(sites.get(n.site) ?? 0, e2));
  };
  try {
    llama.forwardAll(tokens, 0);
  } finally {
    llama.onLinearInput = null;
  }
  const attention = 3 * F16_REL2 * w.layers.length;
  let total = attention;
  for (const v of sites.values()) total += v;
  return { total, attention, sites: Object.fromEntries(sites) };
}
