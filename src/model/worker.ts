// The worker thread of a Model: holds the weights, runs the forward pass and the sampler, and
// writes token ids to shared memory. Generation runs here so the main thread's event loop stays
// free; between tokens the only cost is an Atomics store and notify.
import { parentPort } from "node:worker_threads";
import { Sampler } from "../sampler";
import { loadEngine, type Engine } from "./engine";
import { ABORT, COUNT, DONE, HEADER, publish, type FromWorker, type GenerateStats, type StopReason, type ToWorker } from "./protocol";

let engine: Engine | null = null;
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
  const t0 = performance.now();
  let logits = transformer.forward(m.tokens, 0);
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
  return { promptTokens: m.tokens.length, promptMs: t1 - t0, generatedTokens: n, generateMs: n > 1 ? t2 - tFirst : 0, generateForwards: Math.max(0, n - 1), stopReason: reason };
}

parentPort!.on("message", (m: ToWorker) => {
  if (m.type === "load") {
    try {
      engine = loadEngine(m.spec);
      post({ type: "loaded", info: engine.info });
    } catch (e) {
      const err = e as Error;
      post({ type: "error", id: null, name: err.name, message: err.message });
    }
  } else if (m.type === "tokenize") {
    try {
      const tokens = Int32Array.from(engine!.tokenizer.encode(m.text, { special: m.special }));
      parentPort!.postMessage({ type: "tokens", id: m.id, tokens } satisfies FromWorker, [tokens.buffer]);
    } catch (e) {
      const err = e as Error;
      post({ type: "error", id: m.id, name: err.name, message: err.message });
    }
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
