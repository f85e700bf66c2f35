// Quantizing end to end on stories260K: `int4 quantize` files (llama-quantize's tensor types, int4's
// extension types, metadata), loading them, `int4 eval --base` / `--methods`, calibration
// statistics, and the comparison with llama.cpp's own Q4_0 numbers. Heavy measurements live in
// bench/quant-table.mjs; these runs use a few contexts of the committed texts.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, have, root, stories } from "./helpers/cliSetup";
import { GGUFError, loadModel, openGGUF, Tensor, Tokenizer, hessianFromActivations } from "../src/index";
import { loadEngine } from "../src/model/engine";
import { formatArg } from "../src/cli/quantize";
import { calibrate } from "../src/quant/calibrate";
import { disposeQuantized, matrixBits, quantizeModel, tensorType } from "../src/quant/wholeModel";

if (!have) console.warn(`skipping quantize tests that need ${stories} (shared test model absent)`);
const evalText = path.join(root, "bench/data/stories260K-eval-seed1.txt");
const calibText = path.join(root, "bench/data/stories260K-calib-seed2.txt");

const int4 = (...args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

let dir = "";
let smallCalib = "";
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "int4-quantize-"));
  // calibration: the first ~1500 characters of the calibration text (a few contexts of 64)
  smallCalib = path.join(dir, "calib.txt");
  fs.writeFileSync(smallCalib, fs.readFileSync(calibText, "utf8").slice(0, 1500));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("tensor types (llama-quantize's choices)", () => {
  it("norms F32, output Q8_0, rows not a multiple of 32 F16, the rest 4-bit; --all-4bit: every matrix", () => {
    expect(tensorType("blk.0.attn_norm.weight", [64], "q4_0", false)).toBe("f32");
    expect(tensorType("output.weight", [512, 64], "q4_0", false)).toBe("q8_0");
    expect(tensorType("blk.0.ffn_down.weight", [64, 172], "q4_0", false)).toBe("f16");
    expect(tensorType("blk.0.ffn_down.weight", [64, 172], "q4_g64_sym", false)).toBe("q4");
    expect(tensorType("token_embd.weight", [512, 64], "q4_1", false)).toBe("q4");
    expect(tensorType("output.weight", [512, 64], "q4_0", true)).toBe("q4");
    expect(tensorType("blk.0.ffn_down.weight", [64, 172], "q4_0", true)).toBe("q4");
  });
});

describe.runIf(have)("int4 quantize on stories260K", () => {
  it("q4_0 rtn: llama-quantize's tensor types, metadata copied and recorded, loads and generates", async () => {
    const out = path.join(dir, "q4_0.gguf");
    const r = int4("quantize", "--model", stories, "--out", out, "--format", "q4_0", "--method", "rtn");
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/wrote .*q4_0\.gguf/);
    const src = openGGUF(stories);
    const f = openGGUF(out);
    try {
      for (const t of f.tensors) {
        const want = t.ne.length === 1 ? "F32" : t.name === "output.weight" ? "Q8_0" : t.ne[0] % 32 !== 0 ? "F16" : "Q4_0";
        expect(t.type.name, t.name).toBe(want);
      }
      expect(f.tensors.map((t) => t.name)).toEqual(src.tensors.map((t) => t.name));
      expect(f.tensor("blk.0.ffn_down.weight")!.type.name).toBe("F16");
      expect(f.get("general.file_type")).toBe(2);
      expect(f.get("int4.quantize.method")).toBe("rtn");
      expect(f.get("int4.quantize.group_size")).toBe(32);
      expect(f.get("int4.version")).toBe(JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).version);
      for (const [k, v] of src.metadata) {
        if (k === "general.file_type") continue;
        expect(f.get(k), k).toEqual(v);
        expect(f.metadataTypes.get(k), k).toBe(src.metadataTypes.get(k));
      }
    } finally {
      src.close();
      f.close();
    }
    const m = await loadModel(out, { threads: 1 });
    try {
      let text = "";
      for await (const p of m.generate("Once upon a time", { maxTokens: 16, temperature: 0 })) text += p;
      expect(text.length).toBeGreaterThan(10);
    } finally {
      m.dispose();
    }
  });

  it("extension types (q4_g64_asym, all 4-bit) load in int4 as stored; calibration hash recorded", async () => {
    const out = path.join(dir, "g64.gguf");
    const r = int4("quantize", "--model", stories, "--out", out, "--format", "q4_g64_asym", "--method", "mse", "--all-4bit",
      "--calib", smallCalib, "--ctx", "64", "--threads", "1");
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/calibration: \d+ tokens/);
    const f = openGGUF(out);
    try {
      for (const t of f.tensors) expect(t.type.name, t.name).toBe(t.ne.length === 1 ? "F32" : "INT4_G64_ASYM");
      expect(f.get("int4.quantize.calibration.sha256")).toBe(createHash("sha256").update(fs.readFileSync(smallCalib)).digest("hex"));
      expect(f.get("int4.quantize.all_4bit")).toBe(true);
      expect(f.get("general.file_type")).toBeUndefined();
    } finally {
      f.close();
    }
    const e = loadEngine({ source: { kind: "gguf", path: out }, quant: "stored", threads: 1, ctx: 64 });
    const down = e.weights.layers[0].down;
    expect(down.kind).toBe("q4");
    if (down.kind === "q4") expect([down.q.groupSize, down.q.scheme]).toEqual([64, "asymmetric"]);
    const m = await loadModel(out, { threads: 1 });
    try {
      let n = 0;
      for await (const p of m.generate("Once upon a time", { maxTokens: 8, temperature: 0 })) n += p.length;
      expect(n).toBeGreaterThan(0);
    } finally {
      m.dispose();
    }
  });

  it("the reader rejects an unknown tensor type cleanly, naming the tensor and the id", () => {
    const out = path.join(dir, "q4_0.gguf");
    const bytes = new Uint8Array(fs.readFileSync(out));
    // patch token_embd.weight's type id (u32 after its 2 dims) to 77
    const name = Buffer.from("token_embd.weight");
    const at = Buffer.from(bytes).indexOf(name) + name.length + 4 + 16;
    expect(new DataView(bytes.buffer).getUint32(at, true)).toBe(2);
    new DataView(bytes.buffer).setUint32(at, 77, true);
    expect(() => openGGUF(bytes)).toThrow(GGUFError);
    expect(() => openGGUF(bytes)).toThrow(/tensor "token_embd.weight": unknown ggml type id 77/);
  });

  it("eval --base: a file against itself is zero KLD and 100% top-1; rtn q4_0 is near llama.cpp's 0.072", () => {
    const same = JSON.parse(int4("eval", "--base", stories, "--model", stories, "--text", evalText, "--chunks", "2", "--json", "--threads", "1").out);
    expect(same.klMean).toBe(0);
    expect(same.klMax).toBe(0);
    expect(same.top1Agreement).toBe(1);
    expect(same.dpRms).toBe(0);
    expect(same.pplRatio).toBe(1);
    expect(same.tensors).toEqual([]);
    // llama.cpp's llama-quantize Q4_0 file of this model, scored by llama-perplexity --kl-divergence,
    // has mean KLD 0.072. int4's rtn q4_0 file has the same bytes (quantize_row_q4_0_ref; see the
    // format tests), so on similar text int4 eval must land near it. Measured with the full 188
    // contexts of this text: 0.0698 ± 0.0010 (bench/results/quant-table.md). Here 40 contexts
    // (2520 scored tokens): standard error about 0.002 and the text differs from llama.cpp's, so
    // the band is 0.072 ± 25% (0.054 .. 0.090), several standard errors wide yet excluding q4_1's
    // 0.056-like or gptq's 0.04 level and Q8_0's 0.0007.
    const r = int4("eval", "--base", stories, "--model", path.join(dir, "q4_0.gguf"), "--text", evalText, "--chunks", "40", "--json", "--threads", "1");
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.klMean).toBeGreaterThan(0.054);
    expect(j.klMean).toBeLessThan(0.09);
    expect(j.top1Agreement).toBeGreaterThan(0.8);
    expect(j.tensors).toHaveLength(37); // 31 Q4_0, 5 F16, 1 Q8_0
    expect(j.tensors[0].relRms).toBeGreaterThanOrEqual(j.tensors[1].relRms);
    const text = int4("eval", "--base", stories, "--model", path.join(dir, "q4_0.gguf"), "--text", evalText, "--chunks", "2", "--threads", "1").out;
    expect(text).toMatch(/KL divergence:\s+mean [\d.]+ ± [\d.]+\s+median [\d.]+\s+p99 [\d.]+\s+max [\d.]+/);
    expect(text).toMatch(/worst ten by relative RMS error/);
  });

  it("eval methods quantizes in memory exactly as the file: rtn's numbers equal eval base of the rtn file (either spelling)", () => {
    const a = JSON.parse(int4("eval", "methods", "--model", stories, "--methods", "rtn,mse", "--format", "q4_0", "--text", evalText, "--chunks", "4", "--json", "--threads", "1").out);
    const b = JSON.parse(int4("eval", "--base", stories, "--model", path.join(dir, "q4_0.gguf"), "--text", evalText, "--chunks", "4", "--json", "--threads", "1").out);
    expect(a.results.map((x: { method: string }) => x.method)).toEqual(["rtn", "mse"]);
    expect(a.results[0].klMean).toBe(b.klMean);
    expect(a.results[0].top1Agreement).toBe(b.top1Agreement);
    const b2 = JSON.parse(int4("eval", "base", "--base", stories, "--model", path.join(dir, "q4_0.gguf"), "--text", evalText, "--chunks", "4", "--json", "--threads", "1").out);
    expect(b2.klMean).toBe(b.klMean);
    expect(a.results[0].bitsPerWeight).toBeCloseTo(7.116, 2);
  });

  it("awq+gptq: the folded scales make the saved model run unchanged, and beat rtn on the same text", () => {
    const out = path.join(dir, "awq.gguf");
    const r = int4("quantize", "--model", stories, "--out", out, "--format", "q4_0", "--method", "awq+gptq", "--calib", smallCalib, "--ctx", "64", "--threads", "1");
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/awq α:/);
    const f = openGGUF(out);
    try {
      expect(f.tensor("blk.0.attn_norm.weight")!.type.name).toBe("F32");
      expect(f.get("general.file_type")).toBe(2); // still a plain llama.cpp Q4_0 file
    } finally {
      f.close();
    }
    const q = JSON.parse(int4("eval", "--base", stories, "--model", out, "--text", evalText, "--chunks", "8", "--json", "--threads", "1").out);
    const rtn = JSON.parse(int4("eval", "--base", stories, "--model", path.join(dir, "q4_0.gguf"), "--text", evalText, "--chunks", "8", "--json", "--threads", "1").out);
    expect(q.klMean).toBeLessThan(rtn.klMean);
  });

  it("calibration: each input's H is XᵀX of the rows its layer saw (shared by q/k/v and gate/up)", () => {
    const e = loadEngine({ source: { kind: "gguf", path: stories }, quant: "f32", threads: 1, ctx: 16 });
    const rows: number[][] = [];
    e.transformer.onLinearInput = (l, x) => {
      if (l === e.weights.layers[1].down) rows.push(...Array.from({ length: x.dims[0] }, (_, m) => Array.from(x.data.subarray(m * x.dims[1], (m + 1) * x.dims[1]))));
    };
    const tokens = [1, 403, 407, 261, 378, 300, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
    e.transformer.forwardAll([1, ...tokens.slice(1, 16)], 0);
    e.transformer.forwardAll([1, ...tokens.slice(17, 32)], 0);
    e.transformer.onLinearInput = null;
    const cal = calibrate(e.transformer, tokens, 16, 1);
    expect(e.transformer.onLinearInput).toBeNull();
    expect(cal.tokens).toBe(32);
    const st = cal.inputs.get("blk.1.ffn_down.weight")!;
    expect(st.rows).toBe(32);
    const ref = hessianFromActivations(new Tensor(Float32Array.from(rows.flat()), [32, 172])).data;
    for (let i = 0; i < ref.length; i++) expect(st.H[i]).toBeCloseTo(ref[i], 3);
    expect(cal.inputs.get("blk.2.attn_k.weight")).toBe(cal.inputs.get("blk.2.attn_q.weight"));
    expect(cal.inputs.get("blk.2.ffn_up.weight")).toBe(cal.inputs.get("blk.2.ffn_gate.weight"));
    expect(cal.inputs.get("blk.2.attn_output.weight")).not.toBe(cal.inputs.get("blk.2.attn_q.weight"));
  });

  it("calibration with row Hessians: ffn_up row n gets Σ_t silu(g_tn)² x_t x_tᵀ, ffn_gate row n (∂h/∂g)² weights", () => {
    const e = loadEngine({ source: { kind: "gguf", path: stories }, quant: "f32", threads: 1, ctx: 16 });
    const L = e.weights.layers[3];
    let X: Float32Array | null = null;
    e.transformer.onLinearInput = (l, x) => {
      if (l === L.gate) X = x.data.slice(0, x.dims[0] * x.dims[1]);
    };
    const tokens = [1, 403, 407, 261, 378, 300, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200];
    e.transformer.forwardAll(tokens, 0);
    e.transformer.onLinearInput = null;
    const cal = calibrate(e.transformer, tokens, 16, 1, undefined, true);
    const up = cal.inputs.get("blk.3.ffn_up.weight")!, gate = cal.inputs.get("blk.3.ffn_gate.weight")!;
    expect(up.H).toBe(gate.H); // the shared XᵀX stays shared
    expect(up.rows).toBe(16);
    if (L.gate.kind !== "f32" || L.up.kind !== "f32") throw new Error("f32 expected");
    const K = 64;
    for (const n of [0, 71, 171]) {
      const refU = new Float64Array(K * K), refG = new Float64Array(K * K);
      for (let t = 0; t < 16; t++) {
        let g = 0, u = 0;
        for (let k = 0; k < K; k++) {
          g += X![t * K + k] * L.gate.w[n * K + k];
          u += X![t * K + k] * L.up.w[n * K + k];
        }
        const sg = 1 / (1 + Math.exp(-g));
        const au = g * sg, ag = (sg + g * sg * (1 - sg)) * u;
        for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) {
          refU[i * K + j] += au * au * X![t * K + i] * X![t * K + j];
          refG[i * K + j] += ag * ag * X![t * K + i] * X![t * K + j];
        }
      }
      for (let i = 0; i < K * K; i += 7) {
        expect(up.rowH![n * K * K + i]).toBeCloseTo(refU[i], 3);
        expect(gate.rowH![n * K * K + i]).toBeCloseTo(refG[i], 3);
      }
    }
  });
});

describe.skipIf(!have)("output-aware row Hessians of output.weight; bits per weight", () => {
  const tokens = [1, 403, 407, 261, 378, 300, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200];

  it("calibration with row Hessians: output row n gets Σ_t p_tn (1 - p_tn) x_t x_tᵀ, p the softmax of the logits", () => {
    const e = loadEngine({ source: { kind: "gguf", path: stories }, quant: "f32", threads: 1, ctx: 16 });
    let X: Float32Array | null = null;
    e.transformer.onLinearInput = (l, x) => {
      if (l === e.weights.output) X = x.data.slice(0, x.dims[0] * x.dims[1]);
    };
    const logits = e.transformer.forwardAll(tokens, 0).slice();
    e.transformer.onLinearInput = null;
    const cal = calibrate(e.transformer, tokens, 16, 1, undefined, true);
    const out = cal.inputs.get("output.weight")!;
    expect(out.rows).toBe(16);
    const plain = calibrate(e.transformer, tokens, 16, 1);
    expect(plain.inputs.get("output.weight")!.rowH).toBeUndefined();
    for (let i = 0; i < 64 * 64; i += 5) expect(out.H[i]).toBeCloseTo(plain.inputs.get("output.weight")!.H[i], 6); // XᵀX as before
    const K = 64, V = 512;
    for (const n of [1, 13, 403, 511]) {
      const ref = new Float64Array(K * K);
      for (let t = 0; t < 16; t++) {
        let max = -Infinity, sum = 0;
        for (let v = 0; v < V; v++) max = Math.max(max, logits[t * V + v]);
        for (let v = 0; v < V; v++) sum += Math.exp(logits[t * V + v] - max);
        const p = Math.exp(logits[t * V + n] - max) / sum;
        for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) ref[i * K + j] += p * (1 - p) * X![t * K + i] * X![t * K + j];
      }
      let scale = 0;
      for (let i = 0; i < K; i++) scale = Math.max(scale, Math.abs(ref[i * K + i]));
      for (let i = 0; i < K * K; i += 3) expect(Math.abs(out.rowH![n * K * K + i] - ref[i])).toBeLessThan(1e-4 * scale + 1e-9);
    }
  });

  it("gptq with output row Hessians lowers Σ_n δ_nᵀ H_n δ_n of output.weight below gptq with the shared XᵀX", () => {
    const e = loadEngine({ source: { kind: "gguf", path: stories }, quant: "f32", threads: 1, ctx: 64 });
    const text = fs.readFileSync(calibText, "utf8").slice(0, 3000);
    const f = openGGUF(stories);
    try {
      const ids = Tokenizer.fromGGUF(f).encode(text, { bos: true }).slice(0, 256);
      const withRows = calibrate(e.transformer, ids, 64, 1, undefined, true);
      const without = { ...withRows, inputs: new Map(withRows.inputs) };
      without.inputs.set("output.weight", { ...withRows.inputs.get("output.weight")!, rowH: undefined });
      const rowH = withRows.inputs.get("output.weight")!.rowH!;
      const w = e.weights.output.kind === "f32" ? e.weights.output.w : null;
      const err = (cal: typeof withRows) => {
        const qm = quantizeModel(f, { format: "q4_g32_sym", method: "gptq", allFourBit: true, calibration: cal });
        const d = qm.tensors.find((t) => t.name === "output.weight")!.q!.dequantize().data;
        disposeQuantized(qm);
        const K = 64;
        let s = 0;
        for (let n = 0; n < 512; n++) {
          for (let i = 0; i < K; i++) {
            const di = w![n * K + i] - d[n * K + i];
            for (let j = 0; j < K; j++) s += di * rowH[n * K * K + i * K + j] * (w![n * K + j] - d[n * K + j]);
          }
        }
        return s;
      };
      expect(err(withRows)).toBeLessThan(0.5 * err(without)); // about 0.2 with 4 contexts of 64
    } finally {
      f.close();
    }
  });

  it("bits per weight: nominal 4 + 16/G (sym) or 4 + 32/G (asym) per 4-bit matrix; stored counts the padding of 172-wide rows", () => {
    const f = openGGUF(stories);
    try {
      const bits = (format: "q4_g32_sym" | "q4_g64_asym" | "q4_g128_sym" | "q4_0", allFourBit: boolean) => {
        const qm = quantizeModel(f, { format, method: "rtn", allFourBit });
        const b = matrixBits(qm);
        disposeQuantized(qm);
        return b;
      };
      const g32 = bits("q4_g32_sym", true);
      expect(g32.nominalBitsPerWeight).toBeCloseTo(4.5, 12);
      expect(g32.bitsPerWeight).toBeGreaterThan(4.5); // in memory ffn_down's 172 codes pad to 192, 6 scales
      // in the file a 172-wide row is 6 scales + 86 bytes of codes (98 bytes); the other 237056 weights are Q4_0
      expect(g32.fileBitsPerWeight).toBeCloseTo((237056 * 4.5 + 5 * 64 * 98 * 8) / (237056 + 5 * 64 * 172), 12);
      expect(bits("q4_g128_sym", true).fileBitsPerWeight).toBeLessThan(4.5);
      expect(bits("q4_g64_asym", true).nominalBitsPerWeight).toBeCloseTo(4.5, 12);
      expect(bits("q4_g128_sym", true).nominalBitsPerWeight).toBeCloseTo(4.125, 12);
      // llama-quantize's types: per layer q, o 64x64, k, v 32x64, gate, up 172x64 at 4.5, ffn_down 64x172 F16;
      // token_embd 512x64 at 4.5, output 512x64 Q8_0
      const q4 = 5 * (64 * 64 * 2 + 32 * 64 * 2 + 172 * 64 * 2) + 512 * 64, f16 = 5 * 64 * 172, q8 = 512 * 64;
      const q40 = bits("q4_0", false);
      expect(q40.nominalBitsPerWeight).toBeCloseTo((q4 * 4.5 + f16 * 16 + q8 * 8.5) / (q4 + f16 + q8), 12);
      expect(q40.bitsPerWeight).toBeCloseTo(q40.nominalBitsPerWeight, 12); // no padding: every 4-bit row is a multiple of 32
      expect(q40.fileBitsPerWeight).toBeCloseTo(q40.nominalBitsPerWeight, 12);
    } finally {
      f.close();
    }
  });
});

describe("int4 quantize / eval --base: bad arguments exit 2 with a clear message", () => {
  it("--format takes llama-quantize's upper-case spelling too (Q4_K_M, IQ4_XS, Q8_0)", () => {
    expect(formatArg("Q4_K_M")).toBe("q4_k_m");
    expect(formatArg("IQ4_XS")).toBe("iq4_xs");
    expect(formatArg("Q8_0")).toBe("q8_0");
    expect(formatArg("q4_k_m")).toBe("q4_k_m");
    expect(() => formatArg("Q4_K")).toThrow(/--format: expected one of/);
  });

  it("names the problem", () => {
    const model = have ? stories : path.join(root, "package.json");
    const cases: [string[], RegExp][] = [
      [["quantize"], /--model FILE is required/],
      [["quantize", "--model", "/nonexistent.gguf", "--out", "/tmp/x.gguf", "--format", "q4_0"], /--model: no such file/],
      [["quantize", "--model", model, "--format", "q4_0"], /--out FILE is required/],
      [["quantize", "--model", model, "--out", "/tmp/int4-x.gguf"], /--format is required/],
      [["quantize", "--model", model, "--out", "/tmp/int4-x.gguf", "--format", "q3_k"], /--format: expected one of q4_0, q4_1, q5_0, .*q4_k_m.*iq4_xs, q4_g32_sym/],
      [["quantize", "--model", model, "--out", "/tmp/int4-x.gguf", "--format", "q4_k_m", "--method", "gptq"], /--method gptq needs --calib FILE/],
      [["quantize", "--model", model, "--out", "/tmp/int4-x.gguf", "--format", "q4_0", "--method", "magic"], /--method: expected one of rtn, mse, awq, gptq/],
      [["quantize", "--model", model, "--out", "/tmp/int4-x.gguf", "--format", "q4_0", "--method", "gptq"], /--method gptq needs --calib FILE/],
      [["quantize", "--model", model, "--out", "/nonexistent-dir/x.gguf", "--format", "q4_0"], /--out: no such directory/],
      [["quantize", "--model", model, "--out", "/tmp/int4-x.gguf", "--format", "q4_0", "--damp=-1"], /--damp: expected a number in \[0, 100\]/],
      [["quantize", "--bogus"], /Unknown option '--bogus'/],
      [["eval", "--base", model], /--model FILE is required/],
      [["eval", "--base", model, "--model", model, "--methods", "rtn"], /--base and --methods: give one of them/],
      [["eval", "--model", model, "--methods", "rtn,nope", "--format", "q4_0"], /--methods: expected one of rtn/],
      [["eval", "--model", model, "--methods", "gptq", "--format", "q4_0"], /need --calib FILE/],
      [["eval", "--base", model, "--model", model, "--ctx", "3"], /--ctx: expected an integer in \[8, 65536\]/],
      [["eval", "nope", "--model", model], /unknown mode "nope" \(expected quant, base, methods\)/],
      [["eval", "base", "--model", model], /--base FILE is required/],
      [["eval", "base", "--base", model, "--model", model, "--methods", "rtn"], /--methods goes with int4 eval methods/],
      [["eval", "methods", "--model", model, "--format", "q4_0"], /--methods M1,M2,... is required/],
      [["eval", "quant", "--model", model, "--base", model], /Unknown option '--base'/],
    ];
    for (const [args, msg] of cases) {
      const r = int4(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err, args.join(" ")).toMatch(msg);
    }
    expect(int4("quantize", "--help").out).toMatch(/--all-4bit/);
    expect(int4("eval", "--help").out).toMatch(/--methods/);
    expect(int4("eval", "--help").out).toMatch(/int4 eval base --base FULL.gguf/);
    expect(int4("eval", "methods", "--help").out).toMatch(/int4 eval methods --model/);
  });
});
