// The worker thread of a Model: holds the weights, runs the forward pass and the sampler, and
// writes token ids to shared memory. Generation runs here so the main thread's event loop stays
// free; between tokens the only cost is an Atomics store and notify.
import { parentPort } from "node:worker_threads";
import { Sampler } from "../sampler";
import { BatchEngine } from "./batch";
import { loadEngine, type Engine } from "./engine";
import { ABORT, COUNT, DONE, HEADER, publish, type FromWorker, type GenerateStats, type StopReason, type ToWorker } from "./protocol";

let engine: Engine | null = null;
/** With LoadSpec.parallel > 1: generations run together (continuous batching) instead of one by one. */
let batch: BatchEngine | null = null;
// The tokens whose keys and values the KV cache holds, at positions 0.. (those fed through the
// forward pass by the last generate): a new prompt that starts with them reuses them and runs only
// the rest, as llama.cpp's server does. Each position's keys and values depend only on the tokens
// up to it, so the reuse is exact.
let cached = new Int32Array(0);
let stop = new Set<number>();
const one = new Int32Array(1);

function post(m: FromWorker): void {
  parentPort!.postMessage(m);
}

function generate(m: Extract<ToWorker, { type: "generate" }>): GenerateStats {
  const { transformer } = engine!;
  const ctrl = new Int32Array(m.shared, 0, HEADER);
  const ids = new Int32Array(m.shared, HEADER * 4);
  const sampler = new Sampler(transformer.config.vocab, m.sampler);
  for (const t of m.tokens) sampler.accept(t);
  // the longest prefix of the prompt the cache holds; the last prompt token always runs (its logits)
  let reuse = 0;
  while (m.reuseCache && reuse < cached.length && reuse < m.tokens.length - 1 && cached[reuse] === m.tokens[reuse]) reuse++;
  cached = new Int32Array(0); // until this generation has written what it records
  const t0 = performance.now();
  let logits = transformer.forward(m.tokens.subarray(reuse), reuse);
  const t1 = performance.now();
  let pos = m.tokens.length, n = 0, reason: StopReason = "maxTokens", tFirst = t1;
  while (n < m.maxTokens) {
    if (Atomics.load(ctrl, ABORT) !== 0) { reason = "abort"; break; }
    const tok = sampler.sample(logits);
    if (stop.has(tok)) { reason = "eos"; break; }
    ids[n++] = tok;
    Atomics.store(ctrl, COUNT, n);
    publish(ctrl);
    if (n === 1) tFirst = performance.now();
    if (n === m.maxTokens) break;
    if (pos >= transformer.ctx) { reason = "context"; break; }
    sampler.accept(tok);
    one[0] = tok;
    logits = transformer.forward(one, pos++);
  }
  const t2 = performance.now();
  // fed: the prompt and the generated tokens that went through the forward pass (not the last one)
  const fedGenerated = pos - m.tokens.length;
  cached = new Int32Array(pos);
  cached.set(m.tokens);
  cached.set(ids.subarray(0, fedGenerated), m.tokens.length);
  return { promptTokens: m.tokens.length, cachedTokens: reuse, promptMs: t1 - t0, generatedTokens: n, generateMs: n > 1 ? t2 - tFirst : 0, generateForwards: Math.max(0, n - 1), stopReason: reason };
}

parentPort!.on("message", (m: ToWorker) => {
  if (m.type === "load") {
    try {
      engine = loadEngine(m.spec);
      if ((m.spec.parallel ?? 1) > 1) {
        batch = new BatchEngine(engine.transformer, m.spec.parallel!, (id, r) => {
          if ("stats" in r) post({ type: "done", id, stats: r.stats });
          else post({ type: "error", id, name: r.error.name, message: r.error.message });
        }, m.spec.exactBatches ?? false);
        engine.info.kvCacheBytes = batch.kvCacheBytes; // every slot's cache
      }
      post({ type: "loaded", info: engine.info });
    } catch (e) {
      const err = e as Error;
      post({ type: "error", id: null, name: err.name, message: err.message });
    }
  } else if (m.type === "tokenize") {
    try {
      const tokens = Int32Array.from(engine!.tokenizer.encode(m.text, { special: m.special, bos: m.bos }));
      parentPort!.postMessage({ type: "tokens", id: m.id, tokens } satisfies FromWorker, [tokens.buffer]);
    } catch (e) {
      const err = e as Error;
      post({ type: "error", id: m.id, name: err.name, message: err.message });
    }
  } else if (m.type === "generate" && batch) {
    batch.submit(m);
  } else if (m.type === "generate") {
    stop = new Set(m.stop);
    const ctrl = new Int32Array(m.shared, 0, HEADER);
    try {
      post({ type: "done", id: m.id, stats: generate(m) });
    } catch (e) {
      const err = e as Error;
      post({ type: "error", id: m.id, name: err.name, message: err.message });
    } finally {
      Atomics.store(ctrl, DONE, 1);
      publish(ctrl);
    }
  }
});
