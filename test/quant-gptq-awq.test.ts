// gptq and awq on synthetic layers: output error on the calibration inputs against rtn and mse;
// gptq's blocked, lazily updated Cholesky form against the plain sequential (OBQ) update; awq's
// folding contract end to end; argument checks.
import { describe, expect, it } from "vitest";
import { Tensor, activationStats, awqFoldIntoNorm, awqFoldIntoRows, awqQuantize, hessianFromActivations, matmul, quantizationError, quantize } from "../src/index";
import { f16ToF32, f32ToF16 } from "../src/quant/fp16";
import { heavyTailedWeights, outlierActivations } from "./helpers/synthetic";
import { randn } from "./helpers/ggmlRef";

const SCHEMES = ["symmetric", "asymmetric"] as const;

describe("hessianFromActivations", () => {
  it("is XᵀX", () => {
    const x = new Tensor(randn(7 * 5, 1), [7, 5]);
    const H = hessianFromActivations(x);
    expect(H.dims).toEqual([5, 5]);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) {
        let s = 0;
        for (let t = 0; t < 7; t++) s += x.data[t * 5 + i] * x.data[t * 5 + j];
        expect(H.data[i * 5 + j]).toBeCloseTo(s, 5);
      }
    }
  });
});

describe("gptq", () => {
  const cases: Array<[number, number, 32 | 64 | 128 | 256]> = [[48, 172, 32], [32, 256, 128], [24, 300, 64], [16, 20, 64]];
  for (const scheme of SCHEMES) {
    for (const [N, K, G] of cases) {
      it(`${scheme} G=${G} [${N}, ${K}]: output error on the calibration inputs below rtn's and mse's`, () => {
        const w = heavyTailedWeights(N, K, 100 + K);
        const x = outlierActivations(Math.max(2 * K, 256), K, 200 + K);
        const H = hessianFromActivations(x);
        const err = (method: "rtn" | "mse" | "gptq") =>
          quantizationError(w, quantize(w, { groupSize: G, scheme, method, hessian: method === "rtn" ? undefined : H }), x).output!.relRms;
        const rtn = err("rtn");
        const mse = err("mse");
        const gptq = err("gptq");
        expect(gptq).toBeLessThan(0.9 * rtn);
        expect(gptq).toBeLessThan(0.9 * mse);
      });
    }
  }

  // The plain form of the algorithm: after each column, update every later column with the
  // current inverse Hessian of the remaining columns, then remove the column from it (OBQ):
  //   W[:, j] -= (w_i - q_i) / Hinv_ii · Hinv_ij,   Hinv -= Hinv[:, i] Hinv[i, :] / Hinv_ii
  // Group scales by round to nearest from the up-to-date weights when a group begins.
  function gptqReference(w: Float32Array, N: number, K: number, G: number, H: Float32Array): Float64Array {
    const W = Float64Array.from(w);
    const A = new Float64Array(K * K);
    let mean = 0;
    for (let i = 0; i < K; i++) mean += H[i * K + i] / K;
    for (let i = 0; i < K * K; i++) A[i] = H[i];
    for (let i = 0; i < K; i++) A[i * K + i] += 0.01 * mean;
    // Gauss-Jordan inverse
    const inv = new Float64Array(K * K);
    for (let i = 0; i < K; i++) inv[i * K + i] = 1;
    for (let c = 0; c < K; c++) {
      const p = A[c * K + c];
      for (let j = 0; j < K; j++) { A[c * K + j] /= p; inv[c * K + j] /= p; }
      for (let r = 0; r < K; r++) {
        if (r === c) continue;
        const f = A[r * K + c];
        for (let j = 0; j < K; j++) { A[r * K + j] -= f * A[c * K + j]; inv[r * K + j] -= f * inv[c * K + j]; }
      }
    }
    const out = new Float64Array(N * K);
    const d = new Float64Array(N);
    for (let i = 0; i < K; i++) {
      if (i % G === 0) {
        for (let r = 0; r < N; r++) {
          let amax = 0, max = 0;
          for (let k = i; k < Math.min(i + G, K); k++) if (Math.abs(W[r * K + k]) > amax) { amax = Math.abs(W[r * K + k]); max = W[r * K + k]; }
          const f32 = new Float32Array([max / -8]);
          d[r] = f16ToF32(f32ToF16(f32[0]));
        }
      }
      const hii = inv[i * K + i];
      for (let r = 0; r < N; r++) {
        const x = W[r * K + i];
        const q = d[r] === 0 ? 0 : Math.max(-8, Math.min(7, Math.round(x / d[r])));
        out[r * K + i] = q * d[r];
        const e = (x - q * d[r]) / hii;
        for (let j = i + 1; j < K; j++) W[r * K + j] -= e * inv[i * K + j];
      }
      const col = Array.from({ length: K }, (_, j) => inv[j * K + i]);
      for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) inv[a * K + b] -= (col[a] * col[b]) / hii;
    }
    return out;
  }

  it("the blocked Cholesky form with lazy batch updates equals the sequential update (K = 300: three blocks)", () => {
    const N = 4;
    const K = 300;
    const w = heavyTailedWeights(N, K, 5);
    const x = outlierActivations(600, K, 6);
    const H = hessianFromActivations(x);
    const q = quantize(w, { groupSize: 32, scheme: "symmetric", method: "gptq", hessian: H, groupScales: "rtn" });
    const ref = gptqReference(w.data, N, K, 32, H.data);
    const got = q.dequantize().data;
    let same = 0;
    for (let i = 0; i < N * K; i++) if (Math.abs(got[i] - ref[i]) <= 1e-6 * Math.abs(ref[i]) + 1e-12) same++;
    expect(same).toBe(N * K);
  });

  it("with a diagonal Hessian there is nothing to compensate: rtn scales and nearest codes", () => {
    const N = 6;
    const K = 96;
    const w = heavyTailedWeights(N, K, 9);
    const H = new Float32Array(K * K);
    for (let i = 0; i < K; i++) H[i * K + i] = 1 + i;
    const q = quantize(w, { groupSize: 32, scheme: "symmetric", method: "gptq", hessian: new Tensor(H, [K, K]), groupScales: "rtn" });
    const rtn = quantize(w, { groupSize: 32, scheme: "symmetric" });
    expect(Array.from(q.scales)).toEqual(Array.from(rtn.scales));
    const a = q.dequantize().data;
    for (let i = 0; i < N * K; i++) {
      const d = Math.abs(f16ToF32(q.scales[Math.floor(i / 32)]));
      expect(Math.abs(a[i] - w.data[i])).toBeLessThanOrEqual(d / 2 + 1e-9 + (Math.abs(w.data[i] / d) > 7.5 ? d : 0));
    }
  });

  it("inputs that are always zero (dead channels) take no compensation and stay finite", () => {
    const N = 8;
    const K = 64;
    const w = heavyTailedWeights(N, K, 10);
    const xd = outlierActivations(200, K, 11).data.slice();
    for (let t = 0; t < 200; t++) { xd[t * K + 3] = 0; xd[t * K + 40] = 0; }
    const x = new Tensor(xd, [200, K]);
    const q = quantize(w, { groupSize: 32, method: "gptq", hessian: hessianFromActivations(x) });
    for (const v of q.dequantize().data) expect(Number.isFinite(v)).toBe(true);
    expect(quantizationError(w, q, x).output!.relRms).toBeLessThan(quantizationError(w, quantize(w), x).output!.relRms);
  });
});

describe("awq", () => {
  for (const scheme of SCHEMES) {
    it(`${scheme}: lower output error than rtn on inputs with outlier channels, and folding into the norm gives it`, () => {
      const K = 128;
      const T = 256;
      const ws = [heavyTailedWeights(48, K, 21), heavyTailedWeights(32, K, 22)]; // e.g. q and k
      // the layer input: h (residual stream) -> RMSNorm with weight g -> x
      const h = outlierActivations(T, K, 23, 4, 15).data;
      const g = Float32Array.from(randn(K, 24), (v) => 1 + 0.1 * v);
      const rmsnorm = (gw: Float32Array) => {
        const out = new Float32Array(T * K);
        for (let t = 0; t < T; t++) {
          let ss = 0;
          for (let k = 0; k < K; k++) ss += h[t * K + k] ** 2;
          const inv = 1 / Math.sqrt(ss / K + 1e-5);
          for (let k = 0; k < K; k++) out[t * K + k] = h[t * K + k] * inv * gw[k];
        }
        return new Tensor(out, [T, K]);
      };
      const x = rmsnorm(g);
      const res = awqQuantize(ws, { activations: x, groupSize: 32, scheme });
      expect(res.alpha).toBeGreaterThan(0);
      expect(res.scales.length).toBe(K);
      expect(res.outputError).toBeLessThan(0.85 * res.baselineError);
      // the baseline is plain rtn: same error as quantize()
      let num = 0, den = 0;
      for (const w of ws) {
        const e = quantizationError(w, quantize(w, { groupSize: 32, scheme }), x).output!;
        const y = matmulRef(x, w);
        den += y; num += e.relRms ** 2 * y;
      }
      expect(res.baselineError).toBeCloseTo(Math.sqrt(num / den), 4);
      // folded: the model runs norm weight g/s and the returned matrices, unchanged cost
      const x2 = rmsnorm(awqFoldIntoNorm(g, res.scales));
      ws.forEach((w, i) => {
        const y = matmul(x2, res.quantized[i], { activations: "float32" }).data;
        const ref = matmulRefData(x, w);
        let e = 0, s = 0;
        for (let j = 0; j < y.length; j++) { e += (y[j] - ref[j]) ** 2; s += ref[j] ** 2; }
        const rtnErr = quantizationError(w, quantize(w, { groupSize: 32, scheme }), x).output!.relRms;
        expect(Math.sqrt(e / s)).toBeLessThan(rtnErr);
      });
    });
  }

  it("awqFoldIntoRows divides the producer's rows: (P ⊘ s)ᵀ feeds W diag(s) the same products", () => {
    const P = new Tensor(randn(4 * 3, 30), [4, 3]);
    const s = new Float32Array([2, 0.5, 4, 1]);
    const F = awqFoldIntoRows(P, s);
    for (let k = 0; k < 4; k++) for (let c = 0; c < 3; c++) expect(F.data[k * 3 + c]).toBeCloseTo(P.data[k * 3 + c] / s[k], 6);
    expect(() => awqFoldIntoRows(P, new Float32Array([1, 0, 1, 1]))).toThrow(RangeError);
  });
});

function matmulRefData(x: Tensor, w: Tensor): Float64Array {
  const [T, K] = x.dims;
  const [N] = w.dims;
  const y = new Float64Array(T * N);
  for (let t = 0; t < T; t++) for (let n = 0; n < N; n++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += x.data[t * K + k] * w.data[n * K + k];
    y[t * N + n] = s;
  }
  return y;
}

function matmulRef(x: Tensor, w: Tensor): number {
  return matmulRefData(x, w).reduce((a, v) => a + v * v, 0);
}

describe("argument checks", () => {
  const w = heavyTailedWeights(4, 64, 1);
  const H = hessianFromActivations(outlierActivations(100, 64, 2));
  it("gptq without a hessian, or a hessian of the wrong shape or with non-finite values", () => {
    expect(() => quantize(w, { method: "gptq" })).toThrow(TypeError);
    expect(() => quantize(w, { method: "gptq" })).toThrow(/hessian: expected a Tensor \[64, 64\] for method "gptq"/);
    expect(() => quantize(w, { method: "gptq", hessian: new Tensor(new Float32Array(63 * 63), [63, 63]) })).toThrow(/hessian: expected dims \[64, 64\].*got dims \[63, 63\]/);
    expect(() => quantize(w, { method: "gptq", hessian: new Float32Array(64 * 64) as never })).toThrow(TypeError);
    const bad = H.data.slice();
    bad[70] = NaN;
    expect(() => quantize(w, { method: "gptq", hessian: new Tensor(bad, [64, 64]) })).toThrow(/hessian: expected finite values, got NaN at row 1, column 6/);
  });
  it("importance of the wrong length or with negative values", () => {
    expect(() => quantize(w, { method: "mse", importance: new Float32Array(10) })).toThrow(/importance: expected length K = 64, got length 10/);
    const neg = new Float32Array(64).fill(1);
    neg[5] = -1;
    expect(() => quantize(w, { method: "mse", importance: neg })).toThrow(RangeError);
    expect(() => quantize(w, { method: "mse", importance: [1, 2] as never })).toThrow(TypeError);
  });
  it("unknown methods, method options with rtn, groupScales outside gptq, non-finite weights", () => {
    expect(() => quantize(w, { method: "awq" as never })).toThrow(/method: expected one of "rtn", "mse", "gptq", got string "awq"/);
    expect(() => quantize(w, { importance: new Float32Array(64) })).toThrow(/importance: expected method "mse" or "gptq"/);
    expect(() => quantize(w, { method: "rtn", hessian: H })).toThrow(RangeError);
    expect(() => quantize(w, { method: "mse", groupScales: "rtn" })).toThrow(/groupScales: expected method "gptq"/);
    const nan = w.data.slice();
    nan[3] = Infinity;
    for (const method of ["mse", "gptq"] as const) {
      expect(() => quantize(new Tensor(nan, [4, 64]), { method, hessian: H })).toThrow(/finite values, got Infinity at row 0, column 3/);
    }
  });
  it("rtn through `method` is the native quantizer, byte for byte", () => {
    for (const scheme of SCHEMES) {
      const a = quantize(w, { scheme, method: "rtn" });
      const b = quantize(w, { scheme });
      expect(Buffer.from(a.codes).equals(Buffer.from(b.codes))).toBe(true);
      expect(Array.from(a.scales)).toEqual(Array.from(b.scales));
    }
  });
  it("awq and metrics check their arguments", () => {
    const x = outlierActivations(10, 64, 3);
    expect(() => awqQuantize([], { activations: x })).toThrow(TypeError);
    expect(() => awqQuantize([w], { activations: new Tensor(new Float32Array(10 * 32), [10, 32]) })).toThrow(/last dimension K = 64/);
    expect(() => awqQuantize([w], { activations: x, grid: 0 })).toThrow(RangeError);
    expect(() => awqQuantize([w], { activations: x, alpha: 1 } as never)).toThrow(/option "alpha"/);
    expect(() => quantizationError(w, quantize(new Tensor(new Float32Array(4 * 32), [4, 32])))).toThrow(/dims \[4, 32\] like q/);
    expect(() => awqFoldIntoNorm(new Float32Array(3), new Float32Array(4))).toThrow(/length 3/);
    expect(activationStats(x).meanAbs.length).toBe(64);
  });
});
