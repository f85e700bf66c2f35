// Quantization methods (src/quant/): mse never worse than rtn per group, gptq's output error below
// both on its calibration inputs, gptq's blocked Cholesky form equal to the plain sequential
// update, awq below rtn on outlier-channel inputs with the folding contract checked end to end.
import { describe, expect, it } from "vitest";
import { QTensor, Tensor, activationStats, quantize } from "../src/index";
import { f16ToF32 as f16ToF32Ref, f32ToF16 as f32ToF16Ref, randn, rng } from "./helpers/ggmlRef";
import { heavyTailedWeights, outlierActivations } from "./helpers/synthetic";
import { f16ToF32, f32ToF16 } from "../src/quant/fp16";
import { cholesky, choleskyInverse, inverseUpperFactor, upperCholesky } from "../src/quant/linalg";

type G = 32 | 64 | 128 | 256;
const SCHEMES = ["symmetric", "asymmetric"] as const;

/** Σ wt·(w - ŵ)² per [row, group], from the dequantized floats. */
function groupErrors(w: Tensor, q: QTensor, wt?: Float32Array): Float64Array {
  const [N, K] = q.dims;
  const G = Math.ceil(K / q.groupSize);
  const d = q.dequantize().data;
  const out = new Float64Array(N * G);
  for (let r = 0; r < N; r++) {
    for (let k = 0; k < K; k++) {
      const e = w.data[r * K + k] - d[r * K + k];
      out[r * G + Math.floor(k / q.groupSize)] += (wt ? wt[k] : 1) * e * e;
    }
  }
  return out;
}

function sum(a: Float64Array): number {
  return a.reduce((s, v) => s + v, 0);
}

describe("fp16 in TypeScript", () => {
  it("matches the independent reference on every half and on random floats", () => {
    for (let h = 0; h < 0x7c00; h++) {
      expect(f16ToF32(h)).toBe(f16ToF32Ref(h));
      expect(f32ToF16(f16ToF32(h))).toBe(h);
      expect(f32ToF16(-f16ToF32(h))).toBe(h | 0x8000);
    }
    const r = rng(3);
    for (let i = 0; i < 20000; i++) {
      const v = Math.fround((r() - 0.5) * 2 ** Math.floor(r() * 60 - 40));
      expect(f32ToF16(v)).toBe(f32ToF16Ref(v));
    }
    expect(f32ToF16(70000)).toBe(0x7c00);
    expect(f32ToF16(NaN)).toBe(0x7e00);
  });
});

describe("Cholesky and inverse", () => {
  const A = new Float64Array([4, 12, -16, 12, 37, -43, -16, -43, 98]);
  it("factor a known matrix exactly", () => {
    expect(Array.from(cholesky(A, 3)!)).toEqual([2, 0, 0, 6, 1, 0, -8, 5, 3]);
  });
  it("invert it: the known inverse, and A·A⁻¹ = I", () => {
    const inv = choleskyInverse(cholesky(A, 3)!, 3);
    const known = [49.36111111111111, -13.555555555555555, 2.111111111111111, -13.555555555555555, 3.7777777777777777, -0.5555555555555556, 2.111111111111111, -0.5555555555555556, 0.1111111111111111];
    for (let i = 0; i < 9; i++) expect(inv[i]).toBeCloseTo(known[i], 10);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += A[i * 3 + k] * inv[k * 3 + j];
        expect(s).toBeCloseTo(i === j ? 1 : 0, 10);
      }
    }
    // the upper factor gptq uses: UᵀU = A⁻¹, U upper triangular
    const U = upperCholesky(inv, 3)!;
    for (let i = 0; i < 3; i++) for (let j = 0; j < i; j++) expect(U[i * 3 + j]).toBe(0);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += U[k * 3 + i] * U[k * 3 + j];
        expect(s).toBeCloseTo(inv[i * 3 + j], 10);
      }
    }
  });
  it("inverseUpperFactor equals the upper Cholesky factor of the inverse (random SPD, n = 37)", () => {
    const n = 37;
    const m = randn(n * n, 8);
    const S = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = i === j ? 0.5 : 0;
      for (let k = 0; k < n; k++) s += m[i * n + k] * m[j * n + k];
      S[i * n + j] = s;
    }
    const U1 = upperCholesky(choleskyInverse(cholesky(S, n)!, n), n)!;
    const U2 = inverseUpperFactor(S, n)!;
    let scale = 0;
    for (const v of U1) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < n * n; i++) expect(Math.abs(U1[i] - U2[i])).toBeLessThan(1e-9 * scale);
    expect(inverseUpperFactor(new Float64Array([1, 2, 2, 1]), 2)).toBeNull();
  });

  it("report a matrix that is not positive definite", () => {
    expect(cholesky(new Float64Array([1, 2, 2, 1]), 2)).toBeNull();
    expect(cholesky(new Float64Array([0, 0, 0, 1]), 2)).toBeNull();
  });
});

describe("mse: never worse than rtn in any group", () => {
  const shapes: Array<[number, number, G]> = [[8, 172, 32], [6, 20, 64], [6, 256, 128], [3, 300, 256]];
  for (const scheme of SCHEMES) {
    for (const [N, K, G] of shapes) {
      it(`${scheme} G=${G} [${N}, ${K}], unweighted and importance-weighted`, () => {
        const w = heavyTailedWeights(N, K, N + K + G);
        const x = outlierActivations(64, K, 5);
        const imp = activationStats(x).meanSquare;
        const rtn = quantize(w, { groupSize: G, scheme });
        for (const wt of [undefined, imp]) {
          const q = quantize(w, { groupSize: G, scheme, method: "mse", importance: wt });
          expect(q.dims).toEqual([N, K]);
          const a = groupErrors(w, rtn, wt);
          const b = groupErrors(w, q, wt);
          for (let i = 0; i < a.length; i++) {
            if (!(b[i] <= a[i] * (1 + 1e-12))) throw new Error(`group ${i}: mse ${b[i]} > rtn ${a[i]}`);
          }
          expect(sum(b)).toBeLessThan(0.97 * sum(a));
          // padding of a partial chunk keeps the code for zero
          if (K % 32) {
            const rowBytes = Math.ceil(K / 32) * 16;
            const pad = scheme === "symmetric" ? 8 : 0;
            for (let r = 0; r < N; r++) {
              for (let k = K; k < Math.ceil(K / 32) * 32; k++) {
                const c = k % 32;
                const byte = q.codes[r * rowBytes + Math.floor(k / 32) * 16 + (c % 16)];
                expect(c < 16 ? byte & 15 : byte >> 4).toBe(pad);
              }
            }
          }
        }
      });
    }
  }

  it("fp16 scale handling: zeros, constants, fp16-subnormal scales, large values, one outlier", () => {
    const K = 64;
    const cases: Record<string, Float32Array> = {
      zeros: new Float32Array(2 * K),
      constant: new Float32Array(2 * K).fill(-3.25),
      subnormalScales: randn(2 * K, 10, 1e-6),
      tiny: randn(2 * K, 11, 1e-9),
      large: randn(2 * K, 12, 5000),
      outlier: (() => { const v = randn(2 * K, 13, 0.01); v[37] = 250; return v; })(),
    };
    for (const scheme of SCHEMES) {
      for (const [name, data] of Object.entries(cases)) {
        const w = new Tensor(data, [2, K]);
        const rtn = quantize(w, { groupSize: 32, scheme });
        const q = quantize(w, { groupSize: 32, scheme, method: "mse" });
        const a = groupErrors(w, rtn);
        const b = groupErrors(w, q);
        for (let i = 0; i < a.length; i++) {
          if (!(b[i] <= a[i] * (1 + 1e-12))) throw new Error(`${scheme} ${name} group ${i}: mse ${b[i]} > rtn ${a[i]}`);
        }
        // stored scales are finite fp16 and the dequantized values are finite
        for (const s of q.scales) expect(Number.isFinite(f16ToF32(s))).toBe(true);
        for (const v of q.dequantize().data) expect(Number.isFinite(v)).toBe(true);
        if (name === "zeros") expect(Array.from(q.dequantize().data).every((v) => v === 0)).toBe(true);
      }
    }
  });

  it("judges candidates with the fp16-rounded scale: the least-squares scale of the stored codes, rounded, is no better", () => {
    // For the stored codes q and stored d, re-deriving d* = Σ x q / Σ q² and rounding it to fp16
    // cannot lower the error (the search tried it).
    const w = heavyTailedWeights(16, 128, 77);
    const q = quantize(w, { groupSize: 32, scheme: "symmetric", method: "mse" });
    const groups = groupErrors(w, q);
    const K = 128;
    for (let r = 0; r < 16; r++) {
      for (let g = 0; g < 4; g++) {
        let sxq = 0, sqq = 0;
        const codes: number[] = [];
        for (let k = g * 32; k < g * 32 + 32; k++) {
          const c = k % 32;
          const byte = q.codes[r * 64 + Math.floor(k / 32) * 16 + (c % 16)];
          const code = (c < 16 ? byte & 15 : byte >> 4) - 8;
          codes.push(code);
          sxq += w.data[r * K + k] * code;
          sqq += code * code;
        }
        const d = f16ToF32(f32ToF16(sxq / sqq));
        let e = 0;
        codes.forEach((c, i) => { const t = w.data[r * K + g * 32 + i] - c * d; e += t * t; });
        expect(groups[r * 4 + g]).toBeLessThanOrEqual(e * (1 + 1e-12));
      }
    }
  });
});
