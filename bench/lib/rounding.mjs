// The activation roundings of the two engines, simulated on the activations themselves, so that
// the expected difference between int4's and llama.cpp's outputs follows from what each engine
// does to a matrix's input (test/llamacpp.test.ts, bench/compare-llamacpp.mjs):
//   int4:      int8 per 32 values, f32 scale max|x|/127, round half to even (a "q4" matrix;
//              a matrix held as f32 multiplies x as it is)
//   llama.cpp: the weight type's vec_dot_type: F32 -> x as it is; F16 -> x rounded to f16;
//              BF16 -> bf16; Q4_0, Q5_0, Q8_0, IQ4_NL and Q4_1, Q5_1 (Q8_1: the same values) ->
//              Q8_0: int8 per 32, fp16 scale; the K-quants, IQ4_XS and the other IQ types -> Q8_K:
//              int8 per 256, f32 scale -127/max (max: the value of largest magnitude, signed).

/** Rounds to a float with `bits` significant bits (11: f16, 8: bf16), nearest, ties to even; f16's subnormals below 2^-14. */
function roundBits(v, bits, minExp) {
  if (v === 0 || !Number.isFinite(v)) return v;
  const e = Math.max(Math.floor(Math.log2(Math.abs(v))), minExp);
  const ulp = 2 ** (e - bits + 1);
  const q = v / ulp, r = Math.round(q);
  return (Math.abs(q - Math.trunc(q)) === 0.5 && r % 2 !== 0 ? r - Math.sign(q) : r) * ulp;
}
export const toF16 = (v) => roundBits(v, 11, -14);
const toBF16 = (v) => roundBits(v, 8, -126);
const roundEven = (v) => {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** x (one row, length a multiple of the block) as a scheme rounds it, into out. */
export function roundRow(scheme, x, out) {
  const n = x.length;
  switch (scheme) {
    case "f32": out.set(x); return out;
    case "f16": for (let i = 0; i < n; i++) out[i] = toF16(x[i]); return out;
    case "bf16": for (let i = 0; i < n; i++) out[i] = toBF16(x[i]); return out;
    case "int8_32": // int4's activations
    case "q8_0": { // llama.cpp's quantize_row_q8_0: q = roundf(x / d), d = amax / 127 stored as fp16
      for (let b = 0; b < n; b += 32) {
        const e = Math.min(n, b + 32);
        let amax = 0;
        for (let i = b; i < e; i++) amax = Math.max(amax, Math.abs(x[i]));
        const d = Math.fround(amax / 127), id = d ? 1 / d : 0;
        const scale = scheme === "q8_0" ? toF16(d) : d;
        for (let i = b; i < e; i++) {
          const q = scheme === "q8_0" ? Math.sign(x[i] * id) * Math.round(Math.abs(x[i] * id)) : roundEven(x[i] * id);
          out[i] = q * scale;
        }
      }
      return out;
    }
    case "q8_K": { // quantize_row_q8_K: iscale = -127 / max (max signed, of largest magnitude), d = 1 / iscale
      for (let b = 0; b < n; b += 256) {
        const e = Math.min(n, b + 256);
        let max = 0;
        for (let i = b; i < e; i++) if (Math.abs(x[i]) > Math.abs(max)) max = x[i];
        if (max === 0) { for (let i = b; i < e; i++) out[i] = 0; continue; }
        const iscale = Math.fround(-127 / max), d = Math.fround(1 / iscale);
        for (let i = b; i < e; i++) out[i] = Math.min(127, roundEven(iscale * x[i])) * d;
      }
      return out;
    }
    default: throw new RangeError(`roundRow: unknown scheme ${JSON.stringify(scheme)}`);
  }
}

/** The activations llama.cpp gives a matrix of this GGUF type name (its vec_dot_type). */
export function llamaCppActivations(typeName) {
  if (typeName === "F32") return "f32";
  if (typeName === "F16") return "f16";
  if (typeName === "BF16") return "bf16";
  if (["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q8_1", "IQ4_NL"].includes(typeName)) return "q8_0";
  if (/^(Q[2-8]_K|IQ)/.test(typeName)) return "q8_K";
  throw new RangeError(`llamaCppActivations: no activation type known for tensor type ${typeName}`);
}

/** int4's activations for one of its loaded matrices: f32 for a matrix it holds as f32, else int8 per 32. */
export const int4Activations = (linear) => (linear.kind === "f32" ? "f32" : "int8_32");

/**
 * (||A(x) - x||² + ||B(x) - x||²) / ||x||² over the rows of x [M, K]: the two engines' rounding
 * errors of the same input, added as if independent. Not ||A(x) - B(x)||²: two engines that
 * nominally round alike need not (llama.cpp's CPU backend picks repacked and AMX kernels by CPU,
 * whose activation handling differs from its reference: on an AVX-512/AMX host its Q8_0 matrices
 * measured as far from int4's int8 rounding as from f32), so the budget does not count on it.
 */
export function relativeDifference(a, b, x, M, K) {
  const ra = new Float64Array(K), rb = new Float64Array(K);
  let num = 0, den = 0;
  for (let m = 0; m < M; m++) {
    const row = x.subarray(m * K, (m + 1) * K);
    roundRow(a, row, ra);
    roundRow(b, row, rb);
    for (let k = 0; k < K; k++) {
      num += (ra[k] - row[k]) ** 2 + (rb[k] - row[k]) ** 2;
      den += row[k] * row[k];
    }
  }
  return den ? num / den : 0;
}
