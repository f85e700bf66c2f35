// awq (Lin et al., 2023): activation-aware per-input-channel scaling. Weights that meet large
// activations matter more; scaling input channel k of W up by s_k before quantizing (and the input
// down by 1/s_k) gives those weights finer steps relative to their size. For matrices that share
// one input (q, k, v after attn_norm; gate, up after ffn_norm) one s serves them all:
//
//   s(α) = m^α / sqrt(max(m^α) · min(m^α)),  m_k = mean |x_k| over the calibration rows (≥ 1e-4 after ^α)
//   α* = argmin over α ∈ {0, 1/grid, ..., (grid-1)/grid} of Σ_W ||X Wᵀ - (X diag(1/s)) Q(W diag(s))ᵀ||²
//
// α = 0 is s = 1, plain quantization, so awq never does worse than it on the calibration rows.
//
// Folding contract: the returned QTensors hold Q(W diag(s)) and expect inputs x diag(1/s). The
// caller makes that free at inference by folding 1/s into whatever produces the input:
//   - an RMSNorm y = x / rms(x) ⊙ g: use g ⊘ s (awqFoldIntoNorm) as the norm's weight;
//   - a linear layer whose output channel k is input channel k (ffn_up before ffn_down, since
//     ffn_down's input is silu(gate x) ⊙ (up x)): divide row k of that layer by s_k
//     (awqFoldIntoRows), before quantizing it.
// The calibration activations are the inputs of the unmodified model.
import { checkOneOf, checkOptions, checkPositiveInt, rangeError, typeError } from "../errors";
import { matmul } from "../matmul";
import { GROUP_SIZES, QTensor, SCHEMES, quantize, type GroupSize, type Scheme } from "../qtensor";
import { Tensor } from "../tensor";
import { activationStats, checkActivations } from "./calib";
import { checkImportance } from "./methods";

export interface AwqOptions {
  /** X [T, K]: calibration inputs of the matrices (all share them). */
  activations: Tensor;
  /** m_k, the per-channel statistic (length K); default mean |x| over `activations`. */
  meanAbs?: Float32Array;
  groupSize?: GroupSize;
  scheme?: Scheme;
  /** How the scaled matrices are quantized: "rtn" (default) or "mse". */
  method?: "rtn" | "mse";
  /** Number of α values tried, α = i / grid (20 by default, as AWQ). */
  grid?: number;
}

export interface AwqResult {
  /** s, length K: channel k of every matrix was multiplied by s[k]; its input must be divided by s[k]. */
  scales: Float32Array;
  /** The chosen exponent. */
  alpha: number;
  /** Q(W diag(s)) for each input matrix, in order. */
  quantized: QTensor[];
  /** sqrt(Σ ||X Wᵀ - (X/s) Q(W diag s)ᵀ||² / Σ ||X Wᵀ||²) at the chosen α ... */
  outputError: number;
  /** ... and at α = 0 (plain quantization with the same method), for comparison. */
  baselineError: number;
}

/** Chooses s by grid search over α and returns the quantized scaled matrices (see the file comment). */
export function awqQuantize(weights: readonly Tensor[], options: AwqOptions): AwqResult {
  if (!Array.isArray(weights) || weights.length === 0) throw typeError("awqQuantize weights", "a non-empty array of Tensors [N, K]", weights);
  const opts = checkOptions("awqQuantize options", options);
  const known = ["activations", "meanAbs", "groupSize", "scheme", "method", "grid"];
  for (const key of Object.keys(opts)) if (!known.includes(key)) throw rangeError("awqQuantize options", known.join(", "), `option "${key}"`);
  weights.forEach((w, i) => {
    if (!(w instanceof Tensor)) throw typeError(`awqQuantize weights[${i}]`, "a Tensor [N, K]", w);
    if (w.dims.length !== 2) throw rangeError(`awqQuantize weights[${i}]`, "a 2-D Tensor [N, K]", `dims [${w.dims.join(", ")}]`);
    if (w.dims[1] !== weights[0].dims[1]) throw rangeError(`awqQuantize weights[${i}]`, `K = ${weights[0].dims[1]} like weights[0]`, `dims [${w.dims.join(", ")}]`);
  });
  const K = weights[0].dims[1];
  const { data: x, T } = checkActivations("awqQuantize options.activations", opts.activations, K);
  const meanAbs = opts.meanAbs === undefined ? activationStats(opts.activations as Tensor).meanAbs : checkImportance("awqQuantize options.meanAbs", opts.meanAbs, K);
  const groupSize = opts.groupSize === undefined ? 32 : checkOneOf("groupSize", opts.groupSize, GROUP_SIZES);
  const scheme = opts.scheme === undefined ? "symmetric" : checkOneOf("scheme", opts.scheme, SCHEMES);
  const method = opts.method === undefined ? "rtn" : checkOneOf("method", opts.method, ["rtn", "mse"] as const);
  const grid = opts.grid === undefined ? 20 : checkPositiveInt("grid", opts.grid, 1000);

  // reference outputs X Wᵀ, float64, once
  const refs = weights.map((w) => {
    const [N] = w.dims;
    const a = w.data;
    const y = new Float64Array(T * N);
    for (let t = 0; t < T; t++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += x[t * K + k] * a[n * K + k];
        y[t * N + n] = s;
      }
    }
    return y;
  });
  let refEnergy = 0;
  for (const y of refs) for (let i = 0; i < y.length; i++) refEnergy += y[i] * y[i];

  const evaluate = (s: Float32Array) => {
    const xs = new Float32Array(T * K);
    for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) xs[t * K + k] = x[t * K + k] / s[k];
    const xt = new Tensor(xs, [T, K]);
    let err = 0;
    const qs = weights.map((w, i) => {
      const [N] = w.dims;
      const ws = new Float32Array(N * K);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) ws[n * K + k] = w.data[n * K + k] * s[k];
      const q = quantize(new Tensor(ws, [N, K]), { groupSize, scheme, method });
      const y = matmul(xt, q, { activations: "float32" }).data;
      const ref = refs[i];
      for (let j = 0; j < y.length; j++) err += (ref[j] - y[j]) ** 2;
      return q;
    });
    return { err, qs };
  };

  let best: { alpha: number; s: Float32Array; err: number; qs: QTensor[] } | null = null;
  let baseline = 0;
  for (let i = 0; i < grid; i++) {
    const alpha = i / grid;
    const s = awqScales(meanAbs, alpha);
    const r = evaluate(s);
    if (i === 0) baseline = r.err;
    if (!best || r.err < best.err) {
      best?.qs.forEach((q) => q.dispose());
      best = { alpha, s, err: r.err, qs: r.qs };
    } else {
      r.qs.forEach((q) => q.dispose());
    }
  }
  const rel = (e: number) => (refEnergy > 0 ? Math.sqrt(e / refEnergy) : 0);
  return { scales: best!.s, alpha: best!.alpha, quantized: best!.qs, outputError: rel(best!.err), baselineError: rel(baseline) };
}

/** s(α) = m^α (each at least 1e-4) normalized by sqrt(max · min), AWQ's rule. */
export function awqScales(meanAbs: Float32Array | Float64Array, alpha: number): Float32Array {
  const s = new Float32Array(meanAbs.length);
  let mx = 0;
  let mn = Infinity;
  for (let k = 0; k < s.length; k++) {
    s[k] = Math.max(Math.pow(meanAbs[k], alpha), 1e-4);
    mx = Math.max(mx, s[k]);
    mn = Math.min(mn, s[k]);
  }
  const norm = Math.sqrt(mx * mn);
  for (let k = 0; k < s.length; k++) s[k] /= norm;
  return s;
}

function checkScales(name: string, s: unknown, K: number): Float32Array {
  if (!(s instanceof Float32Array)) throw typeError(name, `a Float32Array of length ${K}`, s);
  if (s.length !== K) throw rangeError(name, `length ${K}`, `length ${s.length}`);
  for (let k = 0; k < K; k++) if (!(s[k] > 0) || s[k] === Infinity) throw rangeError(name, "finite positive values", `${s[k]} at index ${k}`);
  return s;
}

/** The RMSNorm weight to use before matrices awq scaled by s: g ⊘ s (a new array). */
export function awqFoldIntoNorm(normWeight: Float32Array, scales: Float32Array): Float32Array {
  if (!(normWeight instanceof Float32Array)) throw typeError("awqFoldIntoNorm normWeight", "a Float32Array", normWeight);
  const s = checkScales("awqFoldIntoNorm scales", scales, normWeight.length);
  return normWeight.map((g, k) => g / s[k]);
}

/** The producing layer P [K, ·] (output channel k feeds input channel k) with row k divided by s_k (a new Tensor). */
export function awqFoldIntoRows(producer: Tensor, scales: Float32Array): Tensor {
  if (!(producer instanceof Tensor) || producer.dims.length !== 2) throw typeError("awqFoldIntoRows producer", "a 2-D Tensor [K, C]", producer);
  const [K, C] = producer.dims;
  const s = checkScales("awqFoldIntoRows scales", scales, K);
  const out = new Float32Array(K * C);
  for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) out[k * C + c] = producer.data[k * C + c] / s[k];
  return new Tensor(out, [K, C]);
}
