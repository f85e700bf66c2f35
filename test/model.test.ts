// The forward pass and loadModel(): stories260K against llama2.c's reference outputs, every GGUF
// tensor type and quant option on a tiny model, and clear errors for files that do not fit.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEMO_MODEL, GGUFError, loadModel, matmul, openGGUF, QTensor, Sampler, Tensor } from "../src/index";
import { configFromGGUF, type ModelConfig } from "../src/model/config";
import { loadEngine } from "../src/model/engine";
import { evaluate, selfSample } from "../src/model/eval";
import { Transformer } from "../src/model/transformer";
import { parseQuant, QUANT_NAMES } from "../src/model/quant";
import { demoWeights } from "../src/model/weights";
import { asF32, cleanupTemp, TINY, tinyModel, writeTemp, type StoredType } from "./modelFixture";

const models = path.resolve(__dirname, "../../shared/models");
const storiesPath = path.join(models, "stories260K-f32.gguf");
const have = fs.existsSync(storiesPath);
if (!have) console.warn(`skipping model tests that need ${storiesPath} (shared test model absent)`);
const json = (name: string) => JSON.parse(fs.readFileSync(path.join(models, name), "utf8"));

afterAll(cleanupTemp);

const maxDiff = (a: Float32Array, b: Float32Array) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe.runIf(have)("stories260K", () => {
  it("f32: the greedy continuation of 'Once upon a time' equals llama2.c's (ids and text)", async () => {
    const ref = json("stories260K_greedy.json").runs[0];
    const e = loadEngine({ source: { kind: "gguf", path: storiesPath }, quant: "f32", threads: 1 });
    const ids: number[] = [...ref.prompt_ids];
    const s = new Sampler(e.transformer.config.vocab, { temperature: 0 });
    let logits = e.transformer.forward(ids, 0);
    while (ids.length < ref.ids.length) {
      ids.push(s.sample(logits));
      logits = e.transformer.forward([ids[ids.length - 1]], ids.length - 1);
    }
    expect(ids).toEqual(ref.ids);
    // the same through the public streaming API (worker thread)
    const m = await loadModel(storiesPath, { quant: "f32", threads: 1 });
    let text = ref.prompt;
    for await (const piece of m.generate(ref.prompt, { temperature: 0, maxTokens: ref.ids.length - ref.prompt_ids.length })) text += piece;
    expect(text + "\n").toBe(ref.text);
    expect(m.lastStats).toMatchObject({ promptTokens: 5, generatedTokens: ref.ids.length - 5, stopReason: "maxTokens" });
    m.dispose();
  });

  it("f32: logits of the reference sequence within 1e-4 at every position (batched and token by token)", () => {
    const ref = json("stories260K_logits.json");
    const buf = fs.readFileSync(path.join(models, "stories260K_logits.f32"));
    const want = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const e = loadEngine({ source: { kind: "gguf", path: storiesPath }, quant: "f32", threads: 2 });
    const all = e.transformer.forwardAll(ref.token_ids, 0);
    expect(all.length).toBe(16 * 512);
    for (let t = 0; t < 16; t++) expect(maxDiff(all.subarray(t * 512, (t + 1) * 512), want.subarray(t * 512, (t + 1) * 512)), `position ${t}`).toBeLessThan(1e-4);
    for (let t = 0; t < 16; t++) {
      const l = e.transformer.forward([ref.token_ids[t]], t);
      expect(maxDiff(l, want.subarray(t * 512, (t + 1) * 512)), `step ${t}`).toBeLessThan(1e-4);
    }
  });

  it("q4: generation works, is reproducible with a seed, and stores 4.5-5 bits per weight", async () => {
    const m = await loadModel(storiesPath, { quant: "q4", threads: 2 });
    expect(m.info.quant).toBe("q4");
    expect(m.info.bitsPerWeight).toBeGreaterThan(4.5);
    expect(m.info.bitsPerWeight).toBeLessThan(5);
    const gen = async (seed: number) => {
      let s = "";
      for await (const p of m.generate("Once upon a time", { maxTokens: 60, temperature: 0.8, seed })) s += p;
      return s;
    };
    const a = await gen(5);
    expect(a.length).toBeGreaterThan(60);
    expect(await gen(5)).toBe(a);
    expect(await gen(6)).not.toBe(a);
    let greedy = "";
    for await (const p of m.generate("Once upon a time", { maxTokens: 8, temperature: 0 })) greedy += p;
    expect(greedy.startsWith(", there was")).toBe(true);
    m.dispose();
  });

  it("q4 vs f32: eval reports perplexity, KL divergence and top-1 agreement", () => {
    const ref = loadEngine({ source: { kind: "gguf", path: storiesPath }, quant: "f32", threads: 2, ctx: 128 });
    const q = loadEngine({ source: { kind: "gguf", path: storiesPath }, quant: "q4", threads: 2, ctx: 128 });
    const tokens = selfSample(ref.transformer, 4 * 128, 1, 2, 1);
    const r = evaluate(ref.transformer, q.transformer, tokens, 128, 1);
    expect(r.chunks).toBe(4);
    expect(r.scoredTokens).toBe(4 * 63);
    expect(r.klMean).toBeGreaterThan(0);
    expect(r.klMean).toBeLessThan(0.5);
    expect(r.klP99).toBeGreaterThanOrEqual(r.klMean);
    expect(r.top1Agreement).toBeGreaterThan(0.6);
    expect(r.top1Agreement).toBeLessThanOrEqual(1);
    expect(r.pplRef).toBeGreaterThan(1);
    expect(r.pplQuant).toBeGreaterThan(1);
    // a model against itself: no divergence at all
    const same = evaluate(ref.transformer, ref.transformer, tokens, 128, 1);
    expect(same.klMean).toBe(0);
    expect(same.top1Agreement).toBe(1);
    expect(same.pplQuant).toBe(same.pplRef);
  });

  it("every quant option loads and runs; finer groups err less", () => {
    const f = openGGUF(storiesPath);
    const cfg = configFromGGUF(f);
    f.close();
    const ids = json("stories260K_logits.json").token_ids;
    const ref = loadEngine({ source: { kind: "gguf", path: storiesPath }, quant: "f32", threads: 1 }).transformer.forwardAll(ids, 0).slice();
    const err: Record<string, number> = {};
    for (const quant of QUANT_NAMES) {
      const e = loadEngine({ source: { kind: "gguf", path: storiesPath }, quant, threads: 1 });
      err[quant] = maxDiff(e.transformer.forwardAll(ids, 0), ref);
      expect(e.info.config).toEqual(cfg);
    }
    expect(err.f32).toBe(0);
    expect(err.native).toBe(0); // a float file's matrices, as stored: f32
    for (const q of QUANT_NAMES) if (q !== "f32" && q !== "native") expect(err[q], q).toBeGreaterThan(0);
    expect(err.q4).toBe(err.q4_g32_sym);
  });

  it("q4: Q, K, V and gate, up multiplied together give the logits of separate products, prompt and token", () => {
    const ids = json("stories260K_logits.json").token_ids;
    const e = loadEngine({ source: { kind: "gguf", path: storiesPath }, quant: "q4", threads: 2 });
    const shared = [e.transformer.forwardAll(ids, 0).slice(), e.transformer.forward([ids[0]], ids.length).slice()];
    let calls = 0;
    e.transformer.onLinearInput = () => void calls++; // a hook on the linears' inputs makes each one separate
    const separate = [e.transformer.forwardAll(ids, 0).slice(), e.transformer.forward([ids[0]], ids.length).slice()];
    expect(calls).toBeGreaterThan(0);
    expect(shared[0]).toEqual(separate[0]);
    expect(shared[1]).toEqual(separate[1]);
  });

  it("generate() stops on an AbortSignal, on break, and does not block the event loop", async () => {
    const m = await loadModel(storiesPath, { quant: "q4", threads: 1 });
    const ac = new AbortController();
    ac.abort();
    const pieces: string[] = [];
    for await (const p of m.generate("Once", { signal: ac.signal, maxTokens: 50 })) pieces.push(p);
    expect(pieces).toEqual([]);
    expect(m.lastStats!.stopReason).toBe("abort");

    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    let n = 0;
    for await (const _ of m.generate("Once upon a time", { maxTokens: 400, temperature: 1, seed: 3 })) {
      if (++n === 3) break;
    }
    expect(["abort", "maxTokens", "eos", "context"]).toContain(m.lastStats!.stopReason);
    for await (const _ of m.generate("Once upon a time", { maxTokens: 300, temperature: 1, seed: 3, minP: 0, topK: 0, topP: 1 })) n++;
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
    m.dispose();
  });

  // The end of a generation comes from the worker at any moment relative to the main thread's
  // wait: many short generations, each ending right after its first token, exercise that race
  // (waiting on the token count alone once missed the end and hung generate()).
  it("many short generations all finish (no lost wake-up at the end)", async () => {
    const m = await loadModel(storiesPath, { quant: "q4", threads: 1 });
    let pieces = 0;
    for (let i = 0; i < 300; i++) {
      for await (const _ of m.generate("Once", { maxTokens: 1 + (i % 3), temperature: 1, seed: i })) pieces++;
      expect(m.lastStats!.generateForwards).toBeLessThanOrEqual(3);
    }
    expect(pieces).toBeGreaterThan(0);
    m.dispose();
  }, 60_000);

  it("rejects bad options and misuse with clear errors", async () => {
    await expect(loadModel(storiesPath, { quant: "q3" as never })).rejects.toThrow(/quant: expected one of native, q4, f32, q4_g32_sym/);
    await expect(loadModel(storiesPath, { threads: 0 })).rejects.toThrow(RangeError);
    await expect(loadModel(storiesPath, { bogus: 1 } as never)).rejects.toThrow(/loadModel options/);
    await expect(loadModel(42 as never)).rejects.toThrow(TypeError);
    await expect(loadModel("/nonexistent.gguf")).rejects.toThrow(/cannot open/);
    const m = await loadModel(storiesPath, { quant: "q4", threads: 1, ctx: 16 });
    const drain = async (prompt: unknown, o?: unknown) => {
      for await (const _ of m.generate(prompt as string, o as never));
    };
    await expect(drain(5)).rejects.toThrow(TypeError);
    await expect(drain("x", { maxTokens: 0 })).rejects.toThrow(/maxTokens/);
    await expect(drain("x", { temperature: -1 })).rejects.toThrow(/temperature/);
    await expect(drain("x", { bogus: 1 })).rejects.toThrow(/generate options/);
    await expect(drain("Once upon a time there was a little girl named Lily. ".repeat(3))).rejects.toThrow(/prompt: expected fewer than 16 tokens/);
    // the KV cache ends: generation stops with "context"
    for await (const _ of m.generate("Once", { maxTokens: 100 }));
    expect(m.lastStats!.stopReason).toBe("context");
    const it1 = m.generate("Once", { maxTokens: 5 });
    await it1.next();
    await expect(drain("Once")).rejects.toThrow(/already running/);
    await it1.return();
    m.dispose();
    await expect(drain("Once")).rejects.toThrow(/after dispose/);
  });
});

describe("GGUF tensor types and model files (tiny synthetic model)", () => {
  const load = (bytes: Uint8Array, quant: string, name: string) =>
    loadEngine({ source: { kind: "gguf", path: writeTemp(name, bytes) }, quant: quant as never, threads: 1 });
  const tokens = [1, 270, 300 - 41 + 3, 5, 100, 299, 42, 7];

  for (const type of ["F16", "BF16", "Q8_0", "Q4_0", "Q4_1"] as StoredType[]) {
    it(`${type} tensors load as the values they store (f32 path) `, () => {
      const t = tinyModel({ type });
      const got = load(t.bytes, "f32", `${type}.gguf`).transformer.forwardAll(tokens, 0);
      const want = load(asF32(t), "f32", `${type}-as-f32.gguf`).transformer.forwardAll(tokens, 0);
      expect(maxDiff(got, want)).toBeLessThan(1e-4);
    });
  }

  it("Q4_0 and Q4_1 blocks become QTensors bit-exactly under quant q4 (no re-quantization)", () => {
    for (const type of ["Q4_0", "Q4_1"] as StoredType[]) {
      const t = tinyModel({ type });
      const e = load(t.bytes, "q4", `${type}-q4.gguf`);
      // the embedding keeps its arrays: its bytes are the file's blocks
      const emb = e.weights.embed;
      expect(emb.kind).toBe("q4");
      if (emb.kind === "q4") expect(Buffer.from(emb.q.toGGML()).equals(Buffer.from(t.stored.get("token_embd.weight")!))).toBe(true);
      // layer matrices keep only their native copy (releaseHost): they multiply exactly like the file's blocks
      const wq = e.weights.layers[1].wq;
      expect(wq.kind).toBe("q4");
      if (wq.kind === "q4") {
        expect(wq.q.hostReleased).toBe(true);
        const fromFile = QTensor.fromGGML(type === "Q4_0" ? "q4_0" : "q4_1", t.stored.get("blk.1.attn_q.weight")!, wq.q.dims);
        const x = new Tensor(new Float32Array(3 * wq.K).map((_, i) => Math.sin(i)), [3, wq.K]);
        expect(Array.from(matmul(x, wq.q).data)).toEqual(Array.from(matmul(x, fromFile).data));
      }
      expect(e.info.bitsPerWeight).toBe(type === "Q4_0" ? 4.5 : 5);
      // with an explicit matching quant too; a different group size re-quantizes
      const same = load(t.bytes, type === "Q4_0" ? "q4_g32_sym" : "q4_g32_asym", `${type}-same.gguf`).weights.embed;
      if (same.kind === "q4") expect(Buffer.from(same.q.toGGML()).equals(Buffer.from(t.stored.get("token_embd.weight")!))).toBe(true);
      const other = load(t.bytes, "q4_g64_sym", `${type}-g64.gguf`).weights.layers[0].down;
      expect(other.kind === "q4" && other.q.groupSize).toBe(64);
    }
  });

  it("rejects other tensor types naming the tensor, its type and the supported types", () => {
    const t = tinyModel({ type: "Q8_1", only: (n) => n === "blk.1.ffn_up.weight" });
    expect(() => load(t.bytes, "q4", "q8_1.gguf")).toThrow(
      'tensor "blk.1.ffn_up.weight" has type Q8_1, which int4 cannot load (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_NL, IQ4_XS',
    );
  });

  it("uses token_embd for the output when output.weight is absent (tied)", () => {
    const t = tinyModel({ tied: true });
    const e = load(t.bytes, "f32", "tied.gguf");
    expect(e.weights.tied).toBe(true);
    expect(e.weights.output).toBe(e.weights.embed);
    const q = load(t.bytes, "q4", "tied-q4.gguf");
    expect(q.weights.output).toBe(q.weights.embed);
    expect(q.transformer.forward(tokens, 0).length).toBe(TINY.vocab);
  });

  it("rejects wrong shapes, missing tensors, other architectures and tokenizers", async () => {
    const bad = tinyModel({ shapes: { "blk.1.attn_k.weight": [64, 48] } });
    expect(() => load(bad.bytes, "q4", "shape.gguf")).toThrow(/tensor "blk.1.attn_k.weight" has shape \[64, 48\], expected \[64, 32\]/);
    const arch = tinyModel({ arch: "gpt2" });
    expect(() => load(arch.bytes, "q4", "arch.gguf")).toThrow(/unsupported architecture "gpt2" \(supported: llama, mistral, qwen2, qwen3, phi3, gemma2, gemma3\)/);
    expect(load(tinyModel({ arch: "mistral" }).bytes, "q4", "mistral.gguf").info.config.arch).toBe("mistral");
    const tok = tinyModel({ tokenizer: "bert" });
    await expect(loadModel(writeTemp("tok.gguf", tok.bytes))).rejects.toThrow(/unsupported tokenizer "bert"/);
    await expect(loadModel(writeTemp("shape2.gguf", bad.bytes))).rejects.toThrow(GGUFError);
    const vocab = tinyModel({ shapes: { "token_embd.weight": [64, 301], "output.weight": [64, 301] } });
    await expect(loadModel(writeTemp("vocab.gguf", vocab.bytes))).rejects.toThrow(/the tokenizer has 300 tokens, the model's vocabulary 301/);
    // a truncated model file
    await expect(loadModel(writeTemp("trunc.gguf", bad.bytes.subarray(0, 5000)))).rejects.toThrow(/truncated|past the end|cannot fit/);
  });

  it("generation stops at EOS", async () => {
    // output norm 0 -> all logits 0 -> greedy picks id 0, made the EOS id here
    const t = tinyModel({ eos: 0, zeroOutputNorm: true });
    const m = await loadModel(writeTemp("eos.gguf", t.bytes), { quant: "q4", threads: 1 });
    const pieces: string[] = [];
    for await (const p of m.generate("the", { temperature: 0, maxTokens: 20 })) pieces.push(p);
    expect(pieces).toEqual([]);
    expect(m.lastStats).toMatchObject({ generatedTokens: 0, stopReason: "eos" });
    m.dispose();
  });

  it("prompts longer than one batch run in chunks with the same result", () => {
    const t = tinyModel({});
    const e = load(t.bytes, "f32", "long.gguf");
    const ids = Array.from({ length: 100 }, (_, i) => (i * 37) % TINY.vocab);
    const all = e.transformer.forwardAll(ids, 0).slice();
    const stepwise = new Float32Array(all.length);
    for (let i = 0; i < ids.length; i++) stepwise.set(e.transformer.forward([ids[i]], i), i * TINY.vocab);
    expect(maxDiff(all, stepwise)).toBeLessThan(1e-4);
    expect(() => e.transformer.forward([1], 128)).toThrow(/context: 129 positions needed, the KV cache holds 128/);
    expect(() => e.transformer.forward([TINY.vocab], 0)).toThrow(/token: expected an id in \[0, 300\), got 300/);
  });
});

describe("demo model weights", () => {
  it("are deterministic and quantized per tensor", () => {
    const cfg: ModelConfig = { arch: "llama", dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 16, hidden: 96, vocab: 300, ctx: 64, eps: 1e-5, ropeBase: 10000, nRot: 16, ropeMode: 0 };
    const a = demoWeights(parseQuant("q4"), 1, cfg);
    const b = demoWeights(parseQuant("q4"), 2, cfg);
    const la = new Transformer(cfg, a.weights, { ctx: 64 }).forward([1, 2, 3], 0).slice();
    const lb = new Transformer(cfg, b.weights, { ctx: 64 }).forward([1, 2, 3], 0);
    expect(Array.from(lb)).toEqual(Array.from(la));
    expect(a.error.weightRelRms).toBeGreaterThan(0.02);
    expect(a.error.weightRelRms).toBeLessThan(0.2);
    expect(a.weights.layers[0].wq.kind).toBe("q4");
    expect(DEMO_MODEL).toBe("demo");
  });

  it("at a size the thread pool splits: the shared Q, K, V and gate, up products and 1 or 2 threads give the same logits", () => {
    // dim 1024: every product is over 2^19 multiply-adds, so 2 threads really split it
    const cfg: ModelConfig = { arch: "llama", dim: 1024, nLayers: 2, nHeads: 16, nKvHeads: 4, headDim: 64, hidden: 2816, vocab: 2000, ctx: 64, eps: 1e-5, ropeBase: 10000, nRot: 64, ropeMode: 0 };
    const { weights } = demoWeights(parseQuant("q4"), 2, cfg);
    const tokens = [1, 17, 400, 1999, 3, 250, 251, 9];
    const run = (threads: number, separate: boolean) => {
      const transformer = new Transformer(cfg, weights, { ctx: 64, threads });
      if (separate) transformer.onLinearInput = () => {}; // a hook on the linears' inputs makes each product separate
      return [transformer.forwardAll(tokens, 0).slice(), transformer.forward([5], tokens.length).slice()];
    };
    const base = run(1, true);
    for (const [threads, separate] of [[1, false], [2, false], [2, true]] as const) {
      const got = run(threads, separate);
      expect(got[0], `threads ${threads}, separate ${separate}: prompt`).toEqual(base[0]);
      expect(got[1], `threads ${threads}, separate ${separate}: token`).toEqual(base[1]);
    }
  });
});
