// Defects an attack on the installed package found, each with the case that showed it: a
// terminated Worker or disposed model must not abort the process, outputs may not overlap
// inputs, the sampler refuses what it cannot sample, float32 activations add no error.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GGUFError, QTensor, Sampler, Tensor, loadModel, matmul, openGGUF, quantize } from "../src/index";
import { valueText } from "../src/gguf/reader";
import { GGUFValueType as T } from "../src/gguf/types";
import { writeGGUF } from "../src/gguf/writer";
import { configFromGGUF } from "../src/model/config";
import { parseQuant } from "../src/model/quant";
import { checkLoadFits, loadLinear, weightBytesOf } from "../src/model/weights";
import { Tokenizer, demoVocabulary } from "../src/tokenizer";
import { buildGGUF, type KV } from "./ggufBuilder";
import { cleanupTemp, tinyModel, writeTemp } from "./modelFixture";

const root = path.resolve(__dirname, "..");
const child = path.join(__dirname, "helpers", "terminate-child.cjs");
afterAll(cleanupTemp);

function runChild(...args: string[]) {
  const r = spawnSync(process.execPath, [child, root, ...args], { encoding: "utf8", timeout: 120_000 });
  return { status: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

describe("native code survives its environment being torn down", () => {
  // Before: "terminate called after throwing an instance of 'Napi::Error'" (abort) for async
  // work completing in a terminated Worker, and a segfault when the Worker was the last user of
  // the addon (Node unloaded it while the thread pool ran its code).
  for (const mode of ["async", "sync"]) {
    it(`Worker.terminate() during ${mode} matmuls, 12 times: the process lives`, () => {
      const r = runChild(mode, "12");
      expect({ status: r.status, signal: r.signal, err: r.err.slice(0, 500) }).toEqual({ status: 0, signal: null, err: "" });
      expect(r.out.trim()).toBe("ok");
    });
  }

  it("Model.dispose() during generate(), 20 times: the generation ends cleanly", () => {
    const file = writeTemp("dispose.gguf", tinyModel().bytes);
    const r = runChild("model", "20", file);
    expect({ status: r.status, signal: r.signal, err: r.err.slice(0, 500) }).toEqual({ status: 0, signal: null, err: "" });
    expect(r.out.trim()).toBe("ok");
  });
});

describe("matmul", () => {
  const K = 64, N = 8;
  const w = quantize(new Tensor(new Float32Array(N * K).fill(1), [N, K]));

  it("refuses an out that overlaps x, for either activation type (before: wrong values)", () => {
    const buf = new Float32Array(2 * K + 16).fill(1);
    const x = new Tensor(buf.subarray(0, 2 * K), [2, K]);
    for (const start of [0, 1, K, 2 * K - 1]) {
      const out = new Tensor(buf.subarray(start, start + 2 * N), [2, N]);
      for (const activations of ["int8", "float32"] as const) {
        expect(() => matmul(x, w, { activations, out })).toThrow(RangeError);
        expect(() => matmul(x, w, { activations, out })).toThrow(/matmul out: expected memory that does not overlap x/);
      }
    }
    // adjacent but not overlapping: fine
    const out = new Tensor(buf.subarray(2 * K, 2 * K + 2 * N), [2, N]);
    expect(Array.from(matmul(x, w, { out }).data)).toEqual(new Array(2 * N).fill(K));
  });

  it("the binding refuses an overlapping y too (direct calls)", () => {
    const buf = new Float32Array(K + N);
    expect(() => w.nativeMatrix().matmul(buf.subarray(0, K), 1, buf.subarray(K - 1, K - 1 + N), 1, 1)).toThrow(/y: must not overlap x/);
  });

  it("threads: 0 means the default (all cores)", () => {
    const x = new Tensor(new Float32Array(K).fill(1));
    expect(Array.from(matmul(x, w, { threads: 0 }).data)).toEqual(new Array(N).fill(K));
  });

  it('activations "float32" adds no error beyond f32 rounding (before: d (Σq·x − 8 Σx) cancelled)', () => {
    // the case that shows it: most weights 0 (code 8) and x far from zero, so that Σq·x and 8 Σx
    // are large and nearly equal; measured against Σ|w·x| the old kernels erred by 1e-6 to 2e-6
    let s = 7;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const N = 16, KK = 1024;
    for (const groupSize of [128, 256] as const) {
      for (const scheme of ["symmetric", "asymmetric"] as const) {
        const wt = new Float32Array(N * KK);
        for (let n = 0; n < N; n++)
          for (let g = 0; g < KK / groupSize; g++) {
            wt[n * KK + g * groupSize + ((n * 7 + g * 3) % groupSize)] = -1;
            wt[n * KK + g * groupSize + ((n * 5 + g + 1) % groupSize)] = 0.5;
          }
        const q = quantize(new Tensor(wt, [N, KK]), { groupSize, scheme });
        const wd = q.dequantize().data;
        const x = new Float32Array(KK).map(() => 1000 + rnd());
        const y = matmul(new Tensor(x), q, { activations: "float32" }).data;
        let worst = 0;
        for (let n = 0; n < N; n++) {
          let ref = 0, abs = 0;
          for (let k = 0; k < KK; k++) {
            ref += x[k] * wd[n * KK + k];
            abs += Math.abs(x[k] * wd[n * KK + k]);
          }
          worst = Math.max(worst, Math.abs(y[n] - ref) / abs);
        }
        expect(worst, `${scheme} G=${groupSize}`).toBeLessThan(3e-7); // new kernels: below 1e-7 here
      }
    }
  });
});

describe("Sampler", () => {
  it("refuses logits with nothing to sample (before: undefined)", () => {
    for (const temperature of [0, 0.8]) {
      const s = new Sampler(8, { temperature, seed: 1 });
      expect(() => s.sample(new Float32Array(8).fill(NaN))).toThrow(RangeError);
      expect(() => s.sample(new Float32Array(8).fill(NaN))).toThrow(/logits: expected at least one value that is not NaN or -Infinity, got only NaN/);
      expect(() => s.sample(new Float32Array(8).fill(-Infinity))).toThrow(/only -Infinity/);
    }
  });
  it("skips NaN logits and takes a +Infinity one", () => {
    const l = new Float32Array([NaN, 1, 3, NaN, 2, NaN, 0, NaN]);
    expect(new Sampler(8, { temperature: 0 }).sample(l.slice())).toBe(2);
    const s = new Sampler(8, { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 3 });
    for (let i = 0; i < 200; i++) expect([1, 2, 4, 6]).toContain(s.sample(l.slice()));
    const inf = new Float32Array([0, Infinity, 5, NaN, 0, 0, 0, 0]);
    expect(new Sampler(8, { temperature: 0.8, seed: 1 }).sample(inf)).toBe(1);
  });
  it("refuses a vocabulary size that is not a positive integer (before: 0 accepted, -1 a V8 error)", () => {
    expect(() => new Sampler(0)).toThrow(/Sampler vocab: expected a positive integer/);
    expect(() => new Sampler(-1)).toThrow(RangeError);
    expect(() => new Sampler(2.5)).toThrow(RangeError);
    expect(() => new Sampler("8" as unknown as number)).toThrow(TypeError);
  });
});

describe("GGUF files that cost more than they hold", () => {
  const kvBase: KV[] = [["general.architecture", T.STRING, "llama"]];
  it("refuses tensors that share bytes (before: 1,024 layers on the same bytes took 759 MiB)", () => {
    const data = new Uint8Array(64 * 4);
    const tensors = [0, 1, 2].map((i) => ({ name: `t${i}`, ne: [64], type: 0, data, offset: i === 2 ? 128n : 0n }));
    const bytes = buildGGUF({ kv: kvBase, tensors });
    expect(() => openGGUF(bytes)).toThrow(GGUFError);
    expect(() => openGGUF(bytes)).toThrow(/tensor "t1": data \[\d+, \d+\) overlaps tensor "t0"/);
  });

  it("refuses a load whose weights would not fit in memory, before allocating them", () => {
    const f = openGGUF(tinyModel().bytes);
    const need = weightBytesOf(f, parseQuant("f32"));
    expect(need).toBeGreaterThan(0);
    expect(() => checkLoadFits(f, parseQuant("f32"), need - 1)).toThrow(/its weights take .* GiB in memory with quant "f32", more than this machine's/);
    expect(() => checkLoadFits(f, parseQuant("f32"), need)).not.toThrow();
  });

  it("bounds what metadata objects cost, not only their bytes (before: 2 million empty arrays took 495 MiB)", () => {
    // 3 million empty arrays of arrays: 36 MB on disk, well over the budget as JavaScript objects
    const n = 3_000_000;
    const head = buildGGUF({ kv: [], tensors: [] });
    const body = new Uint8Array(8 + 4 + 4 + 8 + n * 12);
    const dv = new DataView(body.buffer);
    let o = 0;
    dv.setBigUint64(o, 1n, true); o += 8; body[o] = 0x78; o += 1; // key "x" (length 1)
    const key = body.subarray(0, 9);
    const rest = new Uint8Array(4 + 4 + 8 + n * 12);
    const rv = new DataView(rest.buffer);
    rv.setUint32(0, T.ARRAY, true); rv.setUint32(4, T.ARRAY, true); rv.setBigUint64(8, BigInt(n), true);
    for (let i = 0, p = 16; i < n; i++, p += 12) rv.setUint32(p, T.UINT8, true); // each: u8 array of length 0
    const file = new Uint8Array(head.length + key.length + rest.length);
    file.set(head); file.set(key, head.length); file.set(rest, head.length + key.length);
    new DataView(file.buffer).setBigUint64(16, 1n, true); // kv count 1
    const before = process.memoryUsage().heapUsed;
    expect(() => openGGUF(file)).toThrow(/the metadata would take more than 512 MiB of memory as JavaScript values/);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(700 * 2 ** 20);
  });
});

describe("GGUF metadata and tensors of the wrong kind", () => {
  it("a u64 tokenizer.ggml.model is a GGUFError naming the key (before: a BigInt serialization TypeError)", () => {
    const bytes = tinyModel().bytes;
    const f = openGGUF(bytes);
    const kv: KV[] = [...f.metadata.entries()].map(([k, v]) => [k, f.metadataTypes.get(k)!, typeof v === "object" ? (v as { values: unknown }).values : v, typeof v === "object" ? (v as { type: number }).type : undefined] as KV);
    const i = kv.findIndex((e) => e[0] === "tokenizer.ggml.model");
    kv[i] = ["tokenizer.ggml.model", T.UINT64, 2n ** 63n];
    const g = openGGUF(buildGGUF({ kv, tensors: [] }));
    expect(() => Tokenizer.fromGGUF(g)).toThrow(GGUFError);
    expect(() => Tokenizer.fromGGUF(g)).toThrow(/metadata "tokenizer.ggml.model" should be a string, got integer 9223372036854775808/);
    kv[i] = ["tokenizer.ggml.model", T.STRING, "llama"];
    kv.push(["llama.block_count", T.STRING, "2"]);
    const h = openGGUF(buildGGUF({ kv: kv.filter((e, j) => e[0] !== "llama.block_count" || j === kv.length - 1), tensors: [] }));
    expect(() => h.number("llama.block_count")).toThrow(/metadata "llama.block_count" should be a finite number, got string "2"/);
  });

  it("metadata copied into a message is cut and escaped (before: a 1 MiB string with an ESC reached the terminal)", () => {
    const evil = "\u001b[31m" + "x".repeat(1 << 20);
    const g = openGGUF(buildGGUF({ kv: [["general.architecture", T.STRING, evil]], tensors: [] }));
    let msg = "";
    try {
      configFromGGUF(g);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/unsupported architecture "\\u001b\[31mx+" \(1048581 characters, cut\)/);
    expect(msg.length).toBeLessThan(400);
    expect(/[\u0000-\u001f\u007f-\u009f]/.test(msg)).toBe(false);
    expect(valueText("a\u0085b\u2028")).toBe('string "a\\u0085b\\u2028"');
  });

  it("NaN or infinite scales in 4-bit blocks are refused at load, naming the tensor (before: loaded silently)", () => {
    const t = tinyModel({ type: "Q4_0" });
    const f = openGGUF(t.bytes);
    const info = f.tensor("blk.1.attn_k.weight")!;
    const bytes = t.bytes.slice();
    bytes[info.fileOffset + 18 * 3] = 0x00;
    bytes[info.fileOffset + 18 * 3 + 1] = 0x7e; // block 3's fp16 scale: NaN
    const g = openGGUF(bytes);
    expect(() => loadLinear(g, g.tensor("blk.1.attn_k.weight")!, parseQuant("q4"))).toThrow(GGUFError);
    expect(() => loadLinear(g, g.tensor("blk.1.attn_k.weight")!, parseQuant("q4"))).toThrow(/tensor "blk.1.attn_k.weight" \(Q4_0\): scales: expected finite fp16 values, got NaN \(0x7e00\) at row 1, group 1/);
    expect(() => loadLinear(g, g.tensor("blk.1.attn_k.weight")!, parseQuant("f32"))).toThrow(/tensor "blk.1.attn_k.weight" \(Q4_0\)/);
    // F32 weights too
    const u = tinyModel({ type: "F32" });
    const h = openGGUF(u.bytes);
    const off = h.tensor("blk.0.ffn_up.weight")!.fileOffset;
    const b2 = u.bytes.slice();
    new DataView(b2.buffer).setFloat32(off + 4 * 70, Infinity, true);
    const h2 = openGGUF(b2);
    expect(() => loadLinear(h2, h2.tensor("blk.0.ffn_up.weight")!, parseQuant("f32"))).toThrow(/tensor "blk.0.ffn_up.weight" \(F32\) holds Infinity at element 70 \(row 1, column 6\)/);
  });
});

describe("errors from the model's worker", () => {
  it("keep their class: a bad tensor found while loading is a GGUFError", async () => {
    const t = tinyModel({ type: "Q4_0" });
    const off = openGGUF(t.bytes).tensor("blk.1.attn_k.weight")!.fileOffset;
    const bytes = t.bytes.slice();
    bytes[off + 1] = 0x7e; // block 0's scale: NaN
    const err = await loadModel(writeTemp("nan.gguf", bytes), { threads: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(GGUFError);
    expect(err.message).toMatch(/tensor "blk.1.attn_k.weight" \(Q4_0\): scales: expected finite fp16 values/);
  });
});

describe("objects that only look right", () => {
  it("Object.create(Tensor.prototype) and Object.create(QTensor.prototype) are not Tensors (before: deep failures)", () => {
    const fake = Object.create(Tensor.prototype);
    const qfake = Object.create(QTensor.prototype);
    expect(fake instanceof Tensor).toBe(false);
    expect(qfake instanceof QTensor).toBe(false);
    const w = quantize(new Tensor(new Float32Array(64), [1, 64]));
    expect(() => matmul(fake, w)).toThrow(/matmul x: expected a Tensor/);
    expect(() => matmul(new Tensor(new Float32Array(64)), qfake)).toThrow(/matmul w: expected a QTensor/);
    expect(() => quantize(fake)).toThrow(TypeError);
    expect(new Tensor(new Float32Array(2)) instanceof Tensor).toBe(true);
  });

  it("new Tokenizer(v) checks v (before: accepted anything)", () => {
    const good = demoVocabulary(400);
    expect(new Tokenizer(good).vocabSize).toBe(400);
    expect(() => new Tokenizer(null as never)).toThrow(/Tokenizer vocabulary: expected an object/);
    expect(() => new Tokenizer({ ...good, tokens: "abc" } as never)).toThrow(/vocabulary.tokens: expected an array of strings/);
    expect(() => new Tokenizer({ ...good, tokens: [...good.tokens.slice(0, 5), 7] } as never)).toThrow(/tokens\[5\]: expected a string, got number 7/);
    expect(() => new Tokenizer({ ...good, scores: new Float32Array(3) })).toThrow(/vocabulary.scores: expected 400 values/);
    expect(() => new Tokenizer({ ...good, bos: 400 })).toThrow(/vocabulary.bos: expected a token id in \[0, 400\)/);
    expect(() => new Tokenizer({ ...good, addBos: "yes" } as never)).toThrow(/vocabulary.addBos: expected a boolean/);
  });

  it('openGGUF("/tmp") is a GGUFError saying it is a directory (before: a bare EISDIR)', () => {
    expect(() => openGGUF(os.tmpdir())).toThrow(GGUFError);
    expect(() => openGGUF(os.tmpdir())).toThrow(/cannot open: it is a directory, not a file/);
  });
});

describe("int4 quantize killed mid-write", () => {
  it("the next write of the same target removes the dead process's temporary file, and only that", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "int4-stale-"));
    try {
      const target = path.join(dir, "out.gguf");
      // a process that has exited: its pid is free (reuse within this test is vanishingly unlikely)
      const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
      const stale = path.join(dir, `.out.gguf.${dead.stdout}.0123abcd.tmp`);
      const live = path.join(dir, `.out.gguf.${process.ppid}.89abcdef.tmp`); // a running process's
      const other = path.join(dir, `.other.gguf.${dead.stdout}.0123abcd.tmp`); // another target's
      for (const p of [stale, live, other]) fs.writeFileSync(p, "partial");
      await writeGGUF(target, { metadata: { "general.architecture": { type: "string", value: "llama" } }, tensors: [] });
      expect(fs.existsSync(target)).toBe(true);
      expect(fs.existsSync(stale)).toBe(false);
      expect(fs.existsSync(live)).toBe(true);
      expect(fs.existsSync(other)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("long prompts", () => {
  it("a prompt that cannot fit the context is refused before it is tokenized (before: 0.7-2 s on the event loop)", async () => {
    const m = await loadModel(writeTemp("long.gguf", tinyModel().bytes), { threads: 1 });
    try {
      let calls = 0;
      const orig = m.tokenizer.encode.bind(m.tokenizer);
      (m.tokenizer as unknown as { encode: typeof orig }).encode = (...a) => (calls++, orig(...a));
      const huge = "once upon a time ".repeat(1 << 16); // 1.1 MB
      await expect(m.generate(huge).next()).rejects.toThrow(/prompt: expected fewer than 128 tokens \(the context\), got at least \d+ tokens \(1114112 characters\)/);
      expect(calls).toBe(0);
    } finally {
      m.dispose();
    }
  });

  it("a long prompt that may fit is tokenized on the model's worker, off the event loop", async () => {
    const m = await loadModel(writeTemp("long-ctx.gguf", tinyModel({ ctx: 8192 }).bytes), { threads: 1, ctx: 8192 });
    try {
      let calls = 0;
      const orig = m.tokenizer.encode.bind(m.tokenizer);
      (m.tokenizer as unknown as { encode: typeof orig }).encode = (...a) => (calls++, orig(...a));
      const text = "the ".repeat(4200); // 16800 characters, about 4200 tokens
      const pieces: string[] = [];
      for await (const p of m.generate(text, { maxTokens: 2, temperature: 0 })) pieces.push(p);
      expect(calls).toBe(0);
      expect(m.lastStats!.promptTokens).toBe(orig(text).length);
      // the worker's count refuses what the cheap bound let through
      await expect(m.generate(" ".repeat(20000)).next()).rejects.toThrow(/fewer than 8192 tokens \(the context\), got \d+ tokens$/);
      expect(calls).toBe(0);
    } finally {
      m.dispose();
    }
  });
});
