// Dense symmetric positive-definite linear algebra for GPTQ, float64, row-major n x n.
// O(n^3): fine for the K (input width) of a linear layer.

/** Lower-triangular L with A = L Lᵀ. Returns null when A is not (numerically) positive definite. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j];
    const Lj = j * n;
    for (let k = 0; k < j; k++) s -= L[Lj + k] * L[Lj + k];
    if (!(s > 0) || !Number.isFinite(s)) return null;
    const ljj = Math.sqrt(s);
    L[Lj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const Li = i * n;
      let t = a[Li + j];
      for (let k = 0; k < j; k++) t -= L[Li + k] * L[Lj + k];
      L[Li + j] = t / ljj;
    }
  }
  return L;
}

/** Inverse of a lower-triangular matrix (lower-triangular), row by row so the inner loop is contiguous. */
export function invertLower(L: Float64Array, n: number): Float64Array {
  const X = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    // row i: X[i][j] = -(Σ_{j<=k<i} L[i][k] X[k][j]) / L[i][i] for j < i, X[i][i] = 1 / L[i][i]
    const xi = i * n;
    for (let k = 0; k < i; k++) {
      const lik = L[xi + k];
      if (lik === 0) continue;
      const xk = k * n;
      for (let j = 0; j <= k; j++) X[xi + j] -= lik * X[xk + j];
    }
    const inv = 1 / L[xi + i];
    for (let j = 0; j < i; j++) X[xi + j] *= inv;
    X[xi + i] = inv;
  }
  return X;
}

/** A⁻¹ from A's Cholesky factor L: A⁻¹ = L⁻ᵀ L⁻¹ (symmetric). */
export function choleskyInverse(L: Float64Array, n: number): Float64Array {
  const Li = invertLower(L, n);
  const out = new Float64Array(n * n);
  // out[i][j] = Σ_k Li[k][i] Li[k][j], k >= max(i, j)
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = j; k < n; k++) s += Li[k * n + i] * Li[k * n + j];
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

/** Upper-triangular U with A = Uᵀ U (the transpose of the lower factor), or null when not positive definite. */
export function upperCholesky(a: Float64Array, n: number): Float64Array | null {
  const L = cholesky(a, n);
  if (!L) return null;
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) U[j * n + i] = L[i * n + j];
  return U;
}

/**
 * The upper-triangular U with A⁻¹ = Uᵀ U (what gptq needs) in one Cholesky and one triangular
 * inverse: with J the order reversal, J A J = L' L'ᵀ gives A = V Vᵀ with V = J L' J upper
 * triangular, so A⁻¹ = (V⁻¹)ᵀ V⁻¹ and U = V⁻¹ = J L'⁻¹ J. Equal to upperCholesky(A⁻¹) (the factor
 * is unique) at a third of the work. Null when A is not positive definite.
 */
export function inverseUpperFactor(a: Float64Array, n: number): Float64Array | null {
  const R = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) R[i * n + j] = a[(n - 1 - i) * n + (n - 1 - j)];
  const L = cholesky(R, n);
  if (!L) return null;
  const Li = invertLower(L, n);
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) U[i * n + j] = Li[(n - 1 - i) * n + (n - 1 - j)];
  return U;
}
