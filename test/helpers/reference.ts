// Plain float64 JavaScript references for matmul checks, and the error bounds they are held to.

/** y (M,N) = x (M,K) · w (N,K)ᵀ in float64, plus Σ|x·w| per output (the scale of rounding error). */
export function matmulF64(x: Float32Array, w: Float32Array, M: number, N: number, K: number) {
  const y = new Float64Array(M * N);
  const absSum = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      let a = 0;
      for (let k = 0; k < K; k++) {
        const p = x[m * K + k] * w[n * K + k];
        s += p;
        a += Math.abs(p);
      }
      y[m * N + n] = s;
      absSum[m * N + n] = a;
    }
  }
  return { y, absSum };
}

/**
 * The bound int8 activations add: each x moves by at most half its 32-block's step,
 * step = max|x in block| / 127, so |Δy| ≤ Σ_k |w_k| · step(k) / 2.
 */
export function int8ActivationBound(x: Float32Array, w: Float32Array, M: number, N: number, K: number): Float64Array {
  const bound = new Float64Array(M * N);
  const halfStep = new Float64Array(K);
  for (let m = 0; m < M; m++) {
    for (let b = 0; b < K; b += 32) {
      let amax = 0;
      for (let k = b; k < Math.min(K, b + 32); k++) amax = Math.max(amax, Math.abs(x[m * K + k]));
      for (let k = b; k < Math.min(K, b + 32); k++) halfStep[k] = amax / 127 / 2;
    }
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += Math.abs(w[n * K + k]) * halfStep[k];
      bound[m * N + n] = s;
    }
  }
  return bound;
}

/** float32 accumulation over K terms: a generous few-ulps-per-term bound on Σ|x·w|. */
export function f32SumBound(absSum: number, K: number): number {
  return absSum * 2 ** -22 * (8 + K / 16) + 1e-30;
}
