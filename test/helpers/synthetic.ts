// Synthetic layers with the structure of real ones, seeded: heavy-tailed weights (a Student-t-like
// mix with occasional outliers) and calibration activations whose channels are correlated and a
// few of which are much larger than the rest (as after an RMSNorm in trained transformers).
import { Tensor } from "../../src/index";
import { randn, rng } from "./ggmlRef";

/** W [N, K]: normal scaled per row, times a heavy tail (|t| with 4 degrees of freedom), plus ~0.5% outliers. */
export function heavyTailedWeights(N: number, K: number, seed: number): Tensor {
  const z = randn(N * K, seed);
  const chi = randn(N * K * 4, seed + 1);
  const r = rng(seed + 2);
  const w = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    const rowScale = 0.02 * (0.5 + r());
    for (let k = 0; k < K; k++) {
      const i = n * K + k;
      let c = 0;
      for (let j = 0; j < 4; j++) c += chi[4 * i + j] ** 2;
      let v = (z[i] / Math.sqrt(c / 4)) * rowScale;
      if (r() < 0.005) v *= 8;
      w[i] = v;
    }
  }
  return new Tensor(w, [N, K]);
}

/** X [T, K]: correlated channels (a random mixing of rank K/2 plus noise), `big` channels scaled by `factor`. */
export function outlierActivations(T: number, K: number, seed: number, big = 4, factor = 20): Tensor {
  const R = Math.max(1, K >> 1);
  const z = randn(T * R, seed);
  const mix = randn(R * K, seed + 1, 1 / Math.sqrt(R));
  const noise = randn(T * K, seed + 2, 0.3);
  const scale = new Float32Array(K).fill(1);
  const r = rng(seed + 3);
  for (let b = 0; b < big; b++) scale[Math.floor(r() * K)] = factor;
  const x = new Float32Array(T * K);
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < K; k++) {
      let s = noise[t * K + k];
      for (let j = 0; j < R; j++) s += z[t * R + j] * mix[j * K + k];
      x[t * K + k] = s * scale[k];
    }
  }
  return new Tensor(x, [T, K]);
}
