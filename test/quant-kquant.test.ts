// Calibrated methods for llama.cpp's super-block types (src/quant/kquant.ts): the code packing
// against llama.cpp's own blocks, the ordering gptq < mse <= rtn in output error per layer on the
// trained student-k256 model, and a gptq file with exactly rtn's (llama-quantize's) types and sizes.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { native } from "../src/native";
import { QTensor } from "../src/qtensor";
import { openGGUF } from "../src/gguf/reader";
import { tensorToF32 } from "../src/model/weights";
import { quantizedTensorSpecs, readCalibrationText } from "../src/cli/quantize";
import { loadEngine } from "../src/model/engine";
import { calibrate, type Calibration } from "../src/quant/calibrate";
import { disposeQuantized, quantizeModel } from "../src/quant/wholeModel";
import { GPTQ_BLOCK_TYPES, blockLayout, blockParams, quantizeBlocksGptq, quantizeBlocksMse, setBlockCodes } from "../src/quant/kquant";

const student = path.resolve(__dirname, "..", "..", "shared", "models", "student-k256");
const model = path.join(student, "student-k256-f32.gguf");
const calibText = path.resolve(__dirname, "..", "bench", "data", "student-k256-calib-seed2.txt");
const haveStudent = fs.existsSync(model);
if (!haveStudent) console.warn(`skipping student-k256 tests: ${model} not found (../shared/models/student-k256)`);

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Σ over rows of δᵀ H δ. */
function outputError(w: Float32Array, deq: Float32Array, N: number, K: number, H: Float64Array): number {
  let e = 0;
  const d = new Float64Array(K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) d[k] = w[n * K + k] - deq[n * K + k];
    for (let i = 0; i < K; i++) {
      let t = 0;
      for (let j = 0; j < K; j++) t += H[i * K + j] * d[j];
      e += d[i] * t;
    }
  }
  return e;
}

describe("K-quant block codes", () => {
  for (const t of GPTQ_BLOCK_TYPES) {
    it(`${t}: params and codes read from llama.cpp's blocks and written back give the same bytes`, () => {
      const L = blockLayout(t);
      const N = 4, K = 512, r = rng(7);
      const w = Float32Array.from({ length: N * K }, () => (r() - 0.5) * (r() < 0.05 ? 8 : 1));
      const bytes = new Uint8Array((N * K / 256) * L.bytes);
      native.quantizeRowsGGML(L.ggufName, w, N, K, null, bytes);
      const deq = QTensor.fromGGML(t, bytes, [N, K]).dequantize().data;
      const copy = bytes.slice();
      const a = new Float64Array(256 / L.sub), b = new Float64Array(256 / L.sub);
      const q = new Uint8Array(256);
      for (let blk = 0; blk < N * K / 256; blk++) {
        blockParams(t, bytes, blk * L.bytes, a, b);
        for (let i = 0; i < 256; i++) {
          const j = Math.floor(i / L.sub), v = deq[blk * 256 + i];
          // the code whose value the dequantizer gives (first of equal ones)
          let best = 0;
          for (let c = 0; c < L.cb.length; c++) if (Math.abs(Math.fround(a[j] * L.cb[c] + b[j]) - v) < Math.abs(Math.fround(a[j] * L.cb[best] + b[j]) - v)) best = c;
          q[i] = best;
        }
        setBlockCodes(t, copy, blk * L.bytes, q);
      }
      expect(QTensor.fromGGML(t, copy, [N, K]).dequantize().data).toEqual(deq);
    });
  }
});

describe.skipIf(!haveStudent)("gptq and mse at llama.cpp's K-quant types (student-k256)", () => {
  // a small sample: 16 contexts of 128 tokens of the calibration text
  let calCache: Calibration | null = null;
  const smallCalibration = () => {
    if (calCache) return calCache;
    const ct = readCalibrationText(model, calibText, 128);
    const eng = loadEngine({ source: { kind: "gguf", path: model }, quant: "f32", threads: 1, ctx: 128 });
    return (calCache = calibrate(eng.transformer, Array.from(ct.tokens).slice(0, 16 * 128), 128, ct.bos));
  };
  it("gptq < mse <= rtn in output error on a few tensors", () => {
    const cal = smallCalibration();
    const f = openGGUF(model);
    for (const [name, type] of [["blk.0.attn_q.weight", "q4_k"], ["blk.1.ffn_down.weight", "q6_k"], ["blk.2.attn_k.weight", "iq4_xs"], ["blk.3.ffn_up.weight", "q5_k"]] as const) {
      const t = f.tensor(name)!;
      const w = tensorToF32(f, t);
      const K = t.ne[0], N = w.length / K;
      const H = cal.inputs.get(name)!.H;
      const diag = Array.from({ length: K }, (_, i) => H[i * K + i]);
      const L = blockLayout(type);
      const err = (bytes: Uint8Array) => outputError(w, QTensor.fromGGML(type, bytes, [N, K]).dequantize().data, N, K, H);
      const rtn = new Uint8Array((N * K / 256) * L.bytes), mse = rtn.slice(), gptq = rtn.slice();
      native.quantizeRowsGGML(L.ggufName, w, N, K, null, rtn);
      quantizeBlocksMse(type, w, N, K, diag, mse);
      quantizeBlocksGptq(type, w, N, K, H, gptq);
      const e = { rtn: err(rtn), mse: err(mse), gptq: err(gptq) };
      expect(e.mse, `${name} ${type} mse vs rtn`).toBeLessThanOrEqual(e.rtn);
      expect(e.gptq, `${name} ${type} gptq vs mse`).toBeLessThan(e.mse);
    }
    f.close();
  }, 120_000);

  for (const format of ["q4_k_m", "iq4_xs"] as const) {
    it(`${format}: gptq writes rtn's tensor types and byte sizes`, async () => {
      const cal = smallCalibration();
      const f = openGGUF(model);
      const rtn = quantizeModel(f, { format, method: "rtn" });
      const gptq = quantizeModel(f, { format, method: "gptq", calibration: cal, rowHessians: false });
      const a = quantizedTensorSpecs(rtn), b = new Map(quantizedTensorSpecs(gptq).map((s) => [s.name, s]));
      let differ = 0;
      for (const s of a) {
        const g = b.get(s.name)!;
        expect(`${s.name} ${g.type}`).toBe(`${s.name} ${s.type}`);
        const da = typeof s.data === "function" ? await s.data() : s.data;
        const dg = typeof g.data === "function" ? await g.data() : g.data;
        expect(dg.byteLength, s.name).toBe(da.byteLength);
        if (!Buffer.from(da).equals(Buffer.from(dg))) differ++;
      }
      expect(differ).toBeGreaterThan(20); // the calibrated matrices are not rtn's
      disposeQuantized(rtn);
      disposeQuantized(gptq);
      f.close();
    }, 300_000);
  }
});
