// Loading a model into the current thread (the worker of loadModel, or the CLI's eval): the GGUF
// file or the demo weights, in the chosen quantization, and a Llama forward pass over them.
import * as os from "node:os";
import { openGGUF } from "../gguf/reader";
import { DEMO_CONFIG, configFromGGUF, type LlamaConfig } from "./config";
import { Tokenizer, demoVocabulary } from "../tokenizer";
import { Llama } from "./llama";
import { parseQuant, type QuantName } from "./quant";
import { checkLoadFits, demoWeights, loadWeights, weightStats, type DemoError, type ModelWeights } from "./weights";

export type ModelSource = { kind: "gguf"; path: string } | { kind: "demo" };

export interface LoadSpec {
  source: ModelSource;
  quant: QuantName;
  threads: number;
  /** KV cache positions; default min(model context, 2048). */
  ctx?: number;
}

export interface ModelInfo {
  config: LlamaConfig;
  quant: QuantName;
  threads: number;
  ctx: number;
  /** Bytes of all weights in memory (linear layers + norms). */
  weightBytes: number;
  /** Weights in linear layers (embedding and output included) and their storage bits per weight. */
  linearWeights: number;
  bitsPerWeight: number;
  kvCacheBytes: number;
  tiedOutput: boolean;
  loadMs: number;
  /** The demo model only: the INT4 error of its weights. */
  demo?: DemoError;
}

export interface Engine {
  llama: Llama;
  /** The model's tokenizer (the worker's copy, for long prompts). */
  tokenizer: Tokenizer;
  weights: ModelWeights;
  info: ModelInfo;
}

export function loadEngine(spec: LoadSpec): Engine {
  const t0 = performance.now();
  const quant = parseQuant(spec.quant);
  let config: LlamaConfig, weights: ModelWeights, demo: DemoError | undefined, tokenizer: Tokenizer;
  if (spec.source.kind === "demo") {
    config = DEMO_CONFIG;
    tokenizer = new Tokenizer(demoVocabulary());
    ({ weights, error: demo } = demoWeights(quant, spec.threads));
  } else {
    const f = openGGUF(spec.source.path);
    try {
      config = configFromGGUF(f);
      checkLoadFits(f, quant, os.totalmem());
      tokenizer = Tokenizer.fromGGUF(f);
      weights = loadWeights(f, config, quant);
    } finally {
      f.close();
    }
  }
  // Make each matrix's native operand now (the loaders already did for those that are only
  // multiplied), so that the load time includes it and the first prompt measures only compute.
  for (const l of [weights.output, ...weights.layers.flatMap((b) => [b.wq, b.wk, b.wv, b.wo, b.gate, b.up, b.down])]) {
    if (l.kind === "q4") l.q.nativeMatrix();
  }
  const ctx = spec.ctx ?? Math.min(config.ctx, 2048);
  const llama = new Llama(config, weights, { ctx, threads: spec.threads });
  const st = weightStats(weights);
  const info: ModelInfo = {
    config, quant: quant.name, threads: spec.threads, ctx,
    weightBytes: st.bytes, linearWeights: st.linearWeights, bitsPerWeight: st.bitsPerWeight,
    kvCacheBytes: llama.kvCacheBytes, tiedOutput: weights.tied, loadMs: performance.now() - t0, demo,
  };
  return { llama, tokenizer, weights, info };
}
