// Least-squares refit of the group scales (and offsets) of a quantized matrix for the layer's
// output error, codes fixed. With codes chosen (by gptq), row r's stored values are
//   ŵ = Σ_g d_g·b_g (+ Σ_g m_g·1_g asymmetric),  b_g = the group's codes (q - 8 symmetric, q) on its columns,
// linear in the parameters c = (d_g, m_g); the output error on the calibration inputs
// (w - ŵ)ᵀ H (w - ŵ) is a quadratic in c, minimized by the normal equations A c = y with
// A_ij = b_iᵀ H b_j and y_i = b_iᵀ H w (G or 2G unknowns per row). The solution is rounded to
// fp16 and kept only when the error, with the values exactly as stored, is lower than before.
// gptq fixes each group's scale before the columns after it are compensated; this refit lets
// every scale see the final codes of the whole row.
import { f16ToF32, f32ToF16 } from "./fp16";
import { cholesky } from "./linalg";
import { getCode, rowCodeBytes, setCode, type Parts } from "./pack";

function rowError(w: Float32Array, off: number, v: Float64Array, H: Float64Array, K: number, tmp: Float64Array): number {
  for (let k = 0; k < K; k++) tmp[k] = w[off + k] - v[k];
  let e = 0;
  for (let i = 0; i < K; i++) {
    if (tmp[i] === 0) continue;
    let t = 0;
    for (let j = 0; j < K; j++) t += H[i * K + j] * tmp[j];
    e += tmp[i] * t;
  }
  return e;
}

/** Refits parts' scales (and offsets) in place for output error under H (K x K). Returns rows improved. */
export function refitScales(parts: Parts, w: Float32Array, N: number, K: number, groupSize: number, H: Float64Array): number {
  const sym = parts.offsets === null;
  const G = Math.ceil(K / groupSize);
  const P = sym ? G : 2 * G;
  const rowBytes = rowCodeBytes(K);
  const q = new Float64Array(K);
  const v = new Float64Array(K);
  const tmp = new Float64Array(K);
  const HB = new Float64Array(P * K); // H b_j, one row per parameter
  const A = new Float64Array(P * P);
  const y = new Float64Array(P);
  let improved = 0;
  const values = (dBits: Uint16Array | number[], mBits: Uint16Array | number[] | null, base: number) => {
    for (let k = 0; k < K; k++) {
      const g = Math.floor(k / groupSize);
      const d = f16ToF32(dBits[base + g]);
      v[k] = sym ? (q[k] - 8) * d : Math.fround(q[k] * d + f16ToF32(mBits![base + g]));
    }
  };
  for (let r = 0; r < N; r++) {
    for (let k = 0; k < K; k++) q[k] = getCode(parts.codes, r * rowBytes, k);
    // H b_j for each parameter j: b_j is zero outside its group
    HB.fill(0);
    for (let j = 0; j < P; j++) {
      const g = j % G, offsetParam = j >= G;
      const k0 = g * groupSize, k1 = Math.min(K, k0 + groupSize);
      const out = j * K;
      for (let k = k0; k < k1; k++) {
        const b = offsetParam ? 1 : sym ? q[k] - 8 : q[k];
        if (b === 0) continue;
        for (let i = 0; i < K; i++) HB[out + i] += H[i * K + k] * b;
      }
    }
    for (let i = 0; i < P; i++) {
      const g = i % G, offsetParam = i >= G;
      const k0 = g * groupSize, k1 = Math.min(K, k0 + groupSize);
      let yi = 0;
      for (let j = 0; j < P; j++) {
        let a = 0;
        for (let k = k0; k < k1; k++) a += (offsetParam ? 1 : sym ? q[k] - 8 : q[k]) * HB[j * K + k];
        A[i * P + j] = a;
      }
      for (let k = 0; k < K; k++) yi += HB[i * K + k] * w[r * K + k];
      y[i] = yi;
    }
    // a little ridge keeps groups with all-zero codes (singular rows of A) solvable
    let tr = 0;
    for (let i = 0; i < P; i++) tr += A[i * P + i];
    for (let i = 0; i < P; i++) A[i * P + i] += 1e-9 * (tr / P) + (A[i * P + i] === 0 ? 1 : 0);
    const L = cholesky(A, P);
    if (!L) continue;
    // solve L Lᵀ c = y
    const c = new Float64Array(P);
    for (let i = 0; i < P; i++) {
      let s = y[i];
      for (let k = 0; k < i; k++) s -= L[i * P + k] * c[k];
      c[i] = s / L[i * P + i];
    }
    for (let i = P - 1; i >= 0; i--) {
      let s = c[i];
      for (let k = i + 1; k < P; k++) s -= L[k * P + i] * c[k];
      c[i] = s / L[i * P + i];
    }
    values(parts.scales, parts.offsets, r * G);
    const before = rowError(w, r * K, v, H, K, tmp);
    const nd: number[] = [], nm: number[] = [];
    let ok = true;
    for (let g = 0; g < G; g++) {
      nd.push(f32ToF16(c[g]));
      if (!sym) nm.push(f32ToF16(c[G + g]));
      if (!Number.isFinite(f16ToF32(nd[g])) || (!sym && !Number.isFinite(f16ToF32(nm[g])))) ok = false;
    }
    if (!ok) continue;
    values(nd, sym ? null : nm, 0);
    const after = rowError(w, r * K, v, H, K, tmp);
    if (after < before) {
      for (let g = 0; g < G; g++) {
        parts.scales[r * G + g] = nd[g];
        if (!sym) parts.offsets![r * G + g] = nm[g];
      }
      improved++;
    }
  }
  return improved;
}

/**
 * Coordinate descent on the codes for output error under H, scales fixed: for each column, the
 * code one step up or down is taken when it lowers (w - ŵ)ᵀ H (w - ŵ) (the change is
 * 2t·(Hδ)_k + t²·H_kk for a change t of δ_k, so a trial costs O(1) and a move O(K)); sweeps until
 * no code moves (at most `sweeps`). Greedy gptq leaves such moves on the table. Returns codes moved.
 */
export function polishCodes(parts: Parts, w: Float32Array, N: number, K: number, groupSize: number, H: Float64Array, sweeps = 8): number {
  const sym = parts.offsets === null;
  const G = Math.ceil(K / groupSize);
  const rowBytes = rowCodeBytes(K);
  const delta = new Float64Array(K);
  const g = new Float64Array(K);
  const q = new Uint8Array(K);
  const val = (k: number, code: number, r: number) => {
    const gi = r * G + Math.floor(k / groupSize);
    const d = f16ToF32(parts.scales[gi]);
    return sym ? (code - 8) * d : Math.fround(code * d + f16ToF32(parts.offsets![gi]));
  };
  let moved = 0;
  for (let r = 0; r < N; r++) {
    for (let k = 0; k < K; k++) {
      q[k] = getCode(parts.codes, r * rowBytes, k);
      delta[k] = w[r * K + k] - val(k, q[k], r);
    }
    for (let i = 0; i < K; i++) {
      let t = 0;
      for (let j = 0; j < K; j++) t += H[i * K + j] * delta[j];
      g[i] = t;
    }
    let rowMoved = 0;
    for (let s = 0; s < sweeps; s++) {
      let any = false;
      for (let k = 0; k < K; k++) {
        const cur = val(k, q[k], r);
        let bestD = -1e-12 * Math.abs(H[k * K + k] * delta[k] * delta[k]), bestCode = -1, bestT = 0;
        // the exact coordinate minimum is at δ_k' = δ_k - g_k/H_kk: try the codes whose values are nearest to it
        const hkk = H[k * K + k];
        if (!(hkk > 0)) continue;
        const target = cur + g[k] / hkk; // the value that would zero the gradient
        const gi = r * G + Math.floor(k / groupSize);
        const dd = f16ToF32(parts.scales[gi]);
        if (dd === 0 || !Number.isFinite(dd)) continue;
        const c0 = sym ? Math.round(target / dd) + 8 : Math.round((target - f16ToF32(parts.offsets![gi])) / dd);
        for (const c of [c0 - 1, c0, c0 + 1, q[k] - 1, q[k] + 1]) {
          if (c < 0 || c > 15 || c === q[k]) continue;
          const t = cur - val(k, c, r); // δ_k changes by t
          const dErr = 2 * t * g[k] + t * t * H[k * K + k];
          if (dErr < bestD) { bestD = dErr; bestCode = c; bestT = t; }
        }
        if (bestCode < 0) continue;
        q[k] = bestCode;
        delta[k] += bestT;
        for (let i = 0; i < K; i++) g[i] += bestT * H[i * K + k];
        any = true;
        rowMoved++;
      }
      if (!any) break;
    }
    if (rowMoved) {
      moved += rowMoved;
      for (let k = 0; k < K; k++) setCode(parts.codes, r * rowBytes, k, q[k]);
    }
  }
  return moved;
}
