// The engine: a model loaded into the thread that runs it (the worker of a Model, or the CLI's eval
// and quantize directly): the GGUF file or the demo weights in the chosen quantization, the
// Transformer (forward pass) over them, the tokenizer and what `info` reports.
import * as os from "node:os";
import { openGGUF } from "../gguf/reader";
import { DEMO_CONFIG, configFromGGUF, type ModelConfig } from "./config";
import { Tokenizer, demoVocabulary } from "../tokenizer";
import { Transformer } from "./transformer";
import { parseQuant, type QuantName } from "./quant";
import { checkLoadFits, demoWeights, loadWeights, weightStats, type DemoError, type ModelWeights } from "./weights";

export type ModelSource = { kind: "gguf"; path: string } | { kind: "demo" };

export interface LoadSpec {
  source: ModelSource;
  quant: QuantName;
  threads: number;
  /** KV cache positions; default min(model context, 2048). */
  ctx?: number;
  /** Sequences decoded together (continuous batching, ./batch.ts); 1 (default): one generate at a time. */
  parallel?: number;
  /** With parallel: pad batches to the GEMM's 4 rows, so a sequence's tokens never depend on its companions (./batch.ts). */
  exactBatches?: boolean;
}

export interface ModelInfo {
  config: ModelConfig;
  quant: QuantName;
  threads: number;
  ctx: number;
  /** Sequences decoded together (LoadSpec.parallel). */
  parallel: number;
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

/** A loaded model on the thread that runs it: the middle layer between Model (the public handle) and Transformer (the forward pass). */
export interface Engine {
  transformer: Transformer;
  /** The model's tokenizer (the worker's copy, for long prompts). */
  tokenizer: Tokenizer;
  weights: ModelWeights;
  info: ModelInfo;
}

/** Loads a model into the current thread (synchronously; a Model's worker calls this). */
export function loadEngine(spec: LoadSpec): Engine {
  const t0 = performance.now();
  const quant = parseQuant(spec.quant);
  let config: ModelConfig, weights: ModelWeights, demo: DemoError | undefined, tokenizer: Tokenizer;
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
  const transformer = new Transformer(config, weights, { ctx, threads: spec.threads });
  const st = weightStats(weights);
  const info: ModelInfo = {
    config, quant: quant.name, threads: spec.threads, ctx, parallel: spec.parallel ?? 1,
    weightBytes: st.bytes, linearWeights: st.linearWeights, bitsPerWeight: st.bitsPerWeight,
    kvCacheBytes: transformer.kvCacheBytes, tiedOutput: weights.tied, loadMs: performance.now() - t0, demo,
  };
  return { transformer, tokenizer, weights, info };
}
