// llama.cpp (through node-llama-cpp's prebuilt CPU build) in its own process, driven by
// bench/lib/llamacpp.mjs: one JSON request per stdin line, one JSON answer per stdout line.
// A process of its own keeps llama.cpp's native threads and memory out of the caller (vitest's
// worker, or a benchmark timing int4 in the same run), and a crash in it an error, not a crash.
//   {"cmd":"load","model":path,"threads":n,"ctx":n}   -> {"ok":true,"vocab":n,"bos":id,"eos":id,"ctx":n,"nCtx":n,"types":{...}}
//   {"cmd":"logits","tokens":[...]}                  -> {"ok":true,"vocab":n,"logits":b64} after every token, one batch (teacher forced)
//   {"cmd":"greedy","prompt":[...],"n":n}            -> {"ok":true,"vocab":n,"ids":[...],"logits":b64} the greedy continuation
//   {"cmd":"tokenize","text":s,"special":b}          -> {"ok":true,"tokens":[...]} (BOS first when the model adds one)
//   {"cmd":"loadVocab","model":path}                  -> {"ok":true,"bos":id,"eos":id} (a vocabulary-only GGUF)
//   {"cmd":"bench","pp":n,"tg":n}                    -> {"ok":true,"ppMs":t,"tgMs":t} (one run of each)
// Logits travel as base64 of little-endian float32, [positions, vocab].
import * as readline from "node:readline";
import { pathToFileURL } from "node:url";

const moduleDir = process.argv[2];
if (!moduleDir) {
  process.stderr.write("usage: llamacpp-child.mjs <node-llama-cpp package directory>\n");
  process.exit(2);
}
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(`${moduleDir}/dist/index.js`).href);
// gpu: false and build: "never": the prebuilt CPU binary or an error, never a download or a compile.
// maxThreads 0: a context's `threads` is then the exact thread count, not a hint.
const llama = await getLlama({ gpu: false, build: "never", maxThreads: 0, logLevel: LlamaLogLevel.error, progressLogs: false });
let model = null, context = null, sequence = null, vocab = 0;

const send = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const b64 = (f32) => Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength).toString("base64");

/** A dense [vocab] array of a position's logits (node-llama-cpp gives a Map sorted by value). */
function dense(map, out, off) {
  for (const [t, v] of map) out[off + t] = v;
}

async function load(r) {
  if (context) await context.dispose();
  if (model) await model.dispose();
  model = await llama.loadModel({ modelPath: r.model, gpuLayers: 0 });
  vocab = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length ?? model.tokens.nVocab ?? 0;
  if (!vocab) throw new Error("cannot tell the vocabulary size");
  // flashAttention off: llama.cpp's plain attention path (KQ, softmax, KQV as matmuls), the one
  // this reference and the benchmark document; the KV cache is llama.cpp's default F16.
  context = await model.createContext({
    contextSize: r.ctx, batchSize: Math.min(r.ctx, r.batch ?? 512), threads: r.threads, sequences: 1, flashAttention: r.flashAttention ?? false,
  });
  sequence = context.getSequence();
  const types = {};
  for (const t of model.fileInfo.tensorInfo ?? []) types[t.name] = t.ggmlType;
  // nCtx: llama.cpp's own n_ctx (llama_n_ctx, padded to a multiple of 256); with one sequence it is
  // the n_ctx_seq that, e.g., chooses Phi-3's LongRoPE factors (llama_model::get_rope_factors)
  return { vocab, bos: model.tokens.bos, eos: model.tokens.eos, ctx: context.contextSize, nCtx: context.getAllocatedContextSize(), threads: context.currentThreads, types };
}

const WANT = { generateNext: { logits: true, token: true } };

/** Teacher forcing: the tokens as one batch (as int4's forwardAll), the logits after each. */
async function logits(r) {
  await sequence.clearHistory();
  const n = r.tokens.length;
  const out = await sequence.controlledEvaluate(r.tokens.map((t) => [t, WANT]));
  const l = new Float32Array(n * vocab);
  for (let i = 0; i < n; i++) dense(out[i].next.logits, l, i * vocab);
  return { vocab, logits: b64(l) };
}

/** Greedy continuation (the argmax: temperature 0 is llama.cpp's greedy sampler), fed back one token at a time. */
async function greedy(r) {
  await sequence.clearHistory();
  const p = r.prompt;
  let o = await sequence.controlledEvaluate(p.map((t, i) => (i === p.length - 1 ? [t, WANT] : t)));
  let last = o[p.length - 1];
  const ids = [], l = new Float32Array(r.n * vocab);
  for (let i = 0; i < r.n; i++) {
    dense(last.next.logits, l, i * vocab);
    ids.push(last.next.token);
    if (i === r.n - 1) break;
    o = await sequence.controlledEvaluate([[last.next.token, WANT]]);
    last = o[0];
  }
  return { vocab, ids, logits: b64(l) };
}

async function bench(r) {
  // pp: one batch of r.pp tokens on an empty cache; tg: r.tg tokens one at a time after one token,
  // as llama-bench (random token ids: the speed does not depend on them)
  const tok = (i) => 1 + ((i * 7919) % (vocab - 1));
  await sequence.clearHistory();
  const prompt = Array.from({ length: r.pp }, (_, i) => tok(i));
  let t0 = performance.now();
  await sequence.controlledEvaluate(prompt.map((t, i) => (i === r.pp - 1 ? [t, { generateNext: { token: true } }] : t)));
  const ppMs = performance.now() - t0;
  await sequence.clearHistory();
  await sequence.controlledEvaluate([[1, { generateNext: { token: true } }]]);
  t0 = performance.now();
  for (let i = 0; i < r.tg; i++) await sequence.controlledEvaluate([[tok(i + 1), { generateNext: { token: true } }]]);
  const tgMs = performance.now() - t0;
  return { ppMs, tgMs };
}

const handlers = {
  load, logits, greedy, bench,
  // special: special-token text becomes its token (llama.cpp's parse_special), as for a chat prompt
  tokenize: async (r) => ({ tokens: [...(model.tokens.shouldPrependBosToken && model.tokens.bos !== null ? [model.tokens.bos] : []), ...model.tokenize(r.text, r.special === true)] }),
  // a vocabulary-only GGUF (no tensors): for tokenize alone
  loadVocab: async (r) => {
    if (context) await context.dispose();
    if (model) await model.dispose();
    context = null;
    model = await llama.loadModel({ modelPath: r.model, vocabOnly: true });
    return { bos: model.tokens.bos, eos: model.tokens.eos };
  },
};

for await (const line of readline.createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  let r;
  try {
    r = JSON.parse(line);
    const h = handlers[r.cmd];
    if (!h) throw new Error(`unknown command ${JSON.stringify(r.cmd)}`);
    if (r.cmd !== "load" && r.cmd !== "loadVocab" && !model) throw new Error("no model loaded");
    send({ ok: true, ...(await h(r)) });
  } catch (e) {
    send({ ok: false, error: String(e?.message ?? e) });
  }
}
if (context) await context.dispose();
if (model) await model.dispose();
await llama.dispose();
