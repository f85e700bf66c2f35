// How far a quantized matrix is from its source: on the weights, and on a layer's outputs for
// calibration inputs (what the model actually feels).
import { typeError, rangeError } from "../errors";
import { QTensor } from "../qtensor";
import { Tensor } from "../tensor";
import { checkActivations } from "./calib";

export interface QuantizationError {
  /** ||W - Ŵ|| / ||W|| (Frobenius). */
  relRms: number;
  /** Signal to quantization noise, 10·log10(||W||² / ||W - Ŵ||²), in dB. */
  sqnrDb: number;
  /** max |W - Ŵ|. */
  maxAbs: number;
  /** With activations X [T, K]: the same on the outputs, ||XWᵀ - XŴᵀ|| / ||XWᵀ|| and its SQNR. */
  output?: { relRms: number; sqnrDb: number };
}

/** Error of q against its source w [N, K]; with `activations` X [T, K] also the output error. Exact (float64). */
export function quantizationError(w: Tensor, q: QTensor, activations?: Tensor): QuantizationError {
  if (!(w instanceof Tensor)) throw typeError("quantizationError w", "a Tensor [N, K]", w);
  if (!(q instanceof QTensor)) throw typeError("quantizationError q", "a QTensor", q);
  const [N, K] = q.dims;
  if (w.dims.length !== 2 || w.dims[0] !== N || w.dims[1] !== K) {
    throw rangeError("quantizationError w", `dims [${N}, ${K}] like q`, `dims [${w.dims.join(", ")}]`);
  }
  const a = w.data;
  const b = q.dequantize().data;
  const delta = new Float64Array(N * K);
  let sig = 0;
  let noise = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    delta[i] = d;
    sig += a[i] * a[i];
    noise += d * d;
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  const out: QuantizationError = { relRms: ratio(noise, sig), sqnrDb: sqnr(sig, noise), maxAbs };
  if (activations !== undefined) {
    const { data: x, T } = checkActivations("quantizationError activations", activations, K);
    let ys = 0;
    let es = 0;
    for (let t = 0; t < T; t++) {
      const xr = t * K;
      for (let n = 0; n < N; n++) {
        const wr = n * K;
        let y = 0;
        let e = 0;
        for (let k = 0; k < K; k++) {
          y += x[xr + k] * a[wr + k];
          e += x[xr + k] * delta[wr + k];
        }
        ys += y * y;
        es += e * e;
      }
    }
    out.output = { relRms: ratio(es, ys), sqnrDb: sqnr(ys, es) };
  }
  return out;
}

function ratio(noise: number, sig: number): number {
  return sig > 0 ? Math.sqrt(noise / sig) : noise > 0 ? Infinity : 0;
}

function sqnr(sig: number, noise: number): number {
  return noise > 0 ? 10 * Math.log10(sig / noise) : Infinity;
}
