// mse: per group, the scale (and offset) minimizing the importance-weighted squared error of the
// stored values. Starts from round to nearest's result (the native quantizer, bit-exact with
// llama.cpp) and replaces a group only when the search finds a strictly smaller error, so it is
// never worse than rtn in any group under the same weighting. O(N·K·grid).
import { native } from "../native";
import type { GroupSize, Scheme } from "../qtensor";
import { f16ToF32 } from "./fp16";
import { asymValue, groupCodes, mseAsymParams, mseSymParams, symValue, type GroupParams } from "./group";
import { emptyParts, getCode, rowCodeBytes, setCode, type Parts } from "./pack";

/** Round to nearest through the native quantizer; returns the flat index of a non-finite weight, or -1. */
export function rtnParts(w: Float32Array, N: number, K: number, groupSize: GroupSize, scheme: Scheme): { parts: Parts; bad: number } {
  const parts = emptyParts(N, K, groupSize, scheme);
  const bad = native.quantize(w, N, K, groupSize, scheme === "symmetric" ? 0 : 1, parts.codes, parts.scales, parts.offsets);
  return { parts, bad };
}

/**
 * importance: per input column (length K), non-negative; undefined means all ones. A group whose
 * importance is all zero is weighted uniformly (nothing tells its columns apart).
 */
export function quantizeMse(w: Float32Array, N: number, K: number, groupSize: GroupSize, scheme: Scheme,
                            importance?: Float32Array | Float64Array): Parts {
  const { parts, bad } = rtnParts(w, N, K, groupSize, scheme);
  if (bad >= 0) throw new RangeError(`quantize w: expected finite values, got ${w[bad]} at row ${Math.floor(bad / K)}, column ${bad % K}`);
  const symmetric = scheme === "symmetric";
  const G = Math.ceil(K / groupSize);
  const rowBytes = rowCodeBytes(K);
  const x = new Float64Array(groupSize);
  const wt = new Float64Array(groupSize);
  const codes = new Uint8Array(groupSize);
  for (let g = 0; g < G; g++) {
    const k0 = g * groupSize;
    const n = Math.min(groupSize, K - k0);
    let wsum = 0;
    for (let i = 0; i < n; i++) wsum += wt[i] = importance ? importance[k0 + i] : 1;
    if (!(wsum > 0)) wt.fill(1);
    for (let r = 0; r < N; r++) {
      const rowBase = r * rowBytes;
      const si = r * G + g;
      // rtn's error, from the codes it stored
      const dBits = parts.scales[si];
      const mBits = parts.offsets ? parts.offsets[si] : 0;
      const d = f16ToF32(dBits);
      const m = f16ToF32(mBits);
      let err = 0;
      for (let i = 0; i < n; i++) {
        x[i] = w[r * K + k0 + i];
        const q = getCode(parts.codes, rowBase, k0 + i);
        const t = x[i] - (symmetric ? symValue(q, d) : asymValue(q, d, m));
        err += wt[i] * t * t;
      }
      const start: GroupParams = { dBits, mBits, err };
      const best = symmetric ? mseSymParams(x, wt, n, start) : mseAsymParams(x, wt, n, start);
      if (best === start) continue;
      parts.scales[si] = best.dBits;
      if (parts.offsets) parts.offsets[si] = best.mBits;
      groupCodes(x, n, best, symmetric, codes);
      for (let i = 0; i < n; i++) setCode(parts.codes, rowBase, k0 + i, codes[i]);
    }
  }
  return parts;
}
