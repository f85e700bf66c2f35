// Statistics of calibration activations X [T, K] (the inputs one linear layer sees, T rows).
import { rangeError, typeError } from "../errors";
import { Tensor } from "../tensor";

export function checkActivations(name: string, x: unknown, K?: number): { data: Float32Array; T: number; K: number } {
  if (!(x instanceof Tensor)) throw typeError(name, "a Tensor [T, K] of calibration activations", x);
  if (x.dims.length !== 2) throw rangeError(name, "a 2-D Tensor [T, K]", `dims [${x.dims.join(", ")}]`);
  if (K !== undefined && x.dims[1] !== K) throw rangeError(name, `last dimension K = ${K}`, `dims [${x.dims.join(", ")}]`);
  const data = x.data;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw rangeError(name, "finite values", `${data[i]} at row ${Math.floor(i / x.dims[1])}, column ${i % x.dims[1]}`);
  }
  return { data, T: x.dims[0], K: x.dims[1] };
}

/** H = XᵀX [K, K] (a sum over the T rows, accumulated in float64): gptq's `hessian`. Sums of several batches add. */
export function hessianFromActivations(x: Tensor): Tensor {
  const { data, T, K } = checkActivations("hessianFromActivations x", x);
  const H = new Float64Array(K * K);
  for (let t = 0; t < T; t++) {
    const row = t * K;
    for (let i = 0; i < K; i++) {
      const xi = data[row + i];
      if (xi === 0) continue;
      const hi = i * K;
      for (let j = i; j < K; j++) H[hi + j] += xi * data[row + j];
    }
  }
  const out = new Float32Array(K * K);
  for (let i = 0; i < K; i++) {
    for (let j = i; j < K; j++) out[i * K + j] = out[j * K + i] = H[i * K + j];
  }
  return new Tensor(out, [K, K]);
}

/** Per input channel: mean |x| (awq's statistic) and mean x² (an importance for mse). */
export function activationStats(x: Tensor): { meanAbs: Float32Array; meanSquare: Float32Array } {
  const { data, T, K } = checkActivations("activationStats x", x);
  const a = new Float64Array(K);
  const s = new Float64Array(K);
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < K; k++) {
      const v = data[t * K + k];
      a[k] += Math.abs(v);
      s[k] += v * v;
    }
  }
  return { meanAbs: Float32Array.from(a, (v) => v / T), meanSquare: Float32Array.from(s, (v) => v / T) };
}
