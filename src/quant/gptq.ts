// gptq (Frantar et al., 2022): quantize the columns of W [N, K] left to right; after each column,
// spread its rounding error over the columns not yet quantized through the inverse Hessian of the
// layer's inputs, H = XᵀX, so the layer's output on the calibration inputs moves as little as
// possible. As the paper's reference implementation:
//   - damping: H + λI with λ = dampRatio · mean(diag H) (0.01); columns with diag 0 (inputs that
//     are always zero) get H_ii = 1 and so take and give no compensation;
//   - the upper Cholesky factor U of H⁻¹ (H⁻¹ = UᵀU, see linalg.ts inverseUpperFactor) replaces H⁻¹: the update after column i is
//     W[:, j] -= (w_i - q_i) / U_ii · U_ij for j > i;
//   - blocks of B = max(128, groupSize) columns with lazy batch updates: inside a block the update
//     is immediate, the columns right of the block receive the block's errors at once at its end.
//   - each group's scale (and offset) is fixed when its first column is reached, from the group's
//     error-compensated weights (B is a multiple of the group size, so they are all up to date),
//     by round to nearest or by the mse search weighted by diag(H).
// No activation ordering: int4's format (and llama.cpp's) stores columns in their original order
// and cannot express a permutation.
// Cost: O(K³) for the factorizations, O(N·K²) for the updates.
import type { GroupSize, Scheme } from "../qtensor";
import { f16ToF32 } from "./fp16";
import { asymCode, asymValue, mseAsymParams, mseSymParams, rtnParams, symCode, symValue } from "./group";
import { inverseUpperFactor } from "./linalg";
import { emptyParts, rowCodeBytes, setCode, type Parts } from "./pack";

export interface GptqOptions {
  /** How a group's scale is chosen from its compensated weights: "mse" (default) or "rtn". */
  groupScales?: "rtn" | "mse";
  /** Relative damping λ / mean(diag H): 0.01 by default. */
  dampRatio?: number;
  /** Weights of the mse scale search per input column (length K); diag(H) by default. */
  importance?: Float32Array;
}

/**
 * The upper Cholesky factor of (H + λI)⁻¹ (row-major K x K), H symmetrized and float64. Retries
 * with ten times the damping (up to 6 times) when H + λI is not numerically positive definite.
 */
export function gptqInverseFactor(h: Float32Array | Float64Array, K: number, dampRatio: number): { U: Float64Array; damp: number; diag: Float64Array } {
  const H = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) H[i * K + j] = 0.5 * (h[i * K + j] + h[j * K + i]);
  let mean = 0;
  for (let i = 0; i < K; i++) mean += Math.max(0, H[i * K + i]) / K;
  if (!(mean > 0)) mean = 1;
  for (let i = 0; i < K; i++) if (!(H[i * K + i] > 0)) H[i * K + i] = 1;
  const diag = new Float64Array(K);
  for (let i = 0; i < K; i++) diag[i] = H[i * K + i];
  let damp = dampRatio * mean;
  for (let attempt = 0; attempt < 7; attempt++, damp *= 10) {
    const A = H.slice();
    for (let i = 0; i < K; i++) A[i * K + i] += damp;
    const U = inverseUpperFactor(A, K);
    if (U && U.every(Number.isFinite)) return { U, damp, diag };
  }
  throw new RangeError(`hessian: expected a positive semi-definite matrix (XᵀX of calibration inputs), got one that is not positive definite even with damping ${damp / 10}`);
}

export function quantizeGptq(w: Float32Array, N: number, K: number, groupSize: GroupSize, scheme: Scheme,
                             hessian: Float32Array | Float64Array, options: GptqOptions = {}): Parts {
  const symmetric = scheme === "symmetric";
  const useMse = (options.groupScales ?? "mse") === "mse";
  const { U, diag } = gptqInverseFactor(hessian, K, options.dampRatio ?? 0.01);
  const parts = emptyParts(N, K, groupSize, scheme);
  const G = Math.ceil(K / groupSize);
  const rowBytes = rowCodeBytes(K);
  const W = Float64Array.from(w); // compensated weights, updated in place
  const B = Math.max(128, groupSize);
  const dRow = new Float64Array(N);
  const mRow = new Float64Array(N);
  const gx = new Float64Array(groupSize);
  const gw = new Float64Array(groupSize);
  for (let i1 = 0; i1 < K; i1 += B) {
    const i2 = Math.min(i1 + B, K);
    const nb = i2 - i1;
    const Err = new Float64Array(N * nb);
    for (let i = i1; i < i2; i++) {
      if (i % groupSize === 0) {
        // fix this group's scale (and offset) for every row, from the compensated weights
        const g = i / groupSize;
        const n = Math.min(groupSize, K - i);
        let wsum = 0;
        for (let t = 0; t < n; t++) wsum += gw[t] = options.importance ? options.importance[i + t] : diag[i + t];
        if (!(wsum > 0)) gw.fill(1);
        for (let r = 0; r < N; r++) {
          for (let t = 0; t < n; t++) gx[t] = W[r * K + i + t];
          let p = rtnParams(gx, gw, n, symmetric);
          if (useMse) p = symmetric ? mseSymParams(gx, gw, n, p) : mseAsymParams(gx, gw, n, p);
          parts.scales[r * G + g] = p.dBits;
          dRow[r] = f16ToF32(p.dBits);
          if (parts.offsets) {
            parts.offsets[r * G + g] = p.mBits;
            mRow[r] = f16ToF32(p.mBits);
          }
        }
      }
      const uii = U[i * K + i];
      for (let r = 0; r < N; r++) {
        const x = W[r * K + i];
        const d = dRow[r];
        let q: number;
        let v: number;
        if (symmetric) {
          q = d === 0 || !Number.isFinite(d) ? 8 : symCode(x, d);
          v = symValue(q, d === 0 || !Number.isFinite(d) ? 0 : d);
        } else {
          q = d > 0 && Number.isFinite(d) ? asymCode(x, d, mRow[r]) : 0;
          v = q === 0 && !(d > 0) ? mRow[r] : asymValue(q, d, mRow[r]);
        }
        setCode(parts.codes, r * rowBytes, i, q);
        const e = (x - v) / uii;
        Err[r * nb + (i - i1)] = e;
        if (e === 0) continue;
        const row = r * K;
        const ui = i * K;
        for (let c = i + 1; c < i2; c++) W[row + c] -= e * U[ui + c];
      }
    }
    // lazy batch update of the columns right of the block
    if (i2 < K) {
      for (let r = 0; r < N; r++) {
        const row = r * K;
        for (let i = i1; i < i2; i++) {
          const e = Err[r * nb + (i - i1)];
          if (e === 0) continue;
          const ui = i * K;
          for (let c = i2; c < K; c++) W[row + c] -= e * U[ui + c];
        }
      }
    }
  }
  return parts;
}
