// matmul: x [M, K] (or [K]) times an INT4 matrix W [N, K], transposed: y = x · Wᵀ, [M, N] (or [N]).
import { checkOneOf, checkOptions, checkPositiveInt, rangeError, typeError } from "./errors";
import type { NativeActivations } from "./native";
import { QTensor } from "./qtensor";
import { Tensor } from "./tensor";

export interface MatmulOptions {
  /**
   * "int8" (default): each row of x is quantized to int8 in blocks of 32 (like llama.cpp's Q8_0)
   * and the products are summed in integers: the fast path. Each activation moves by at most half
   * of its block's step (max|x| / 254), see README "Accuracy".
   * "float32": weights are dequantized and multiplied with x as it is.
   */
  activations?: "int8" | "float32";
  /** Threads to split the rows of W across (default: backend().threads). The result does not depend on it. */
  threads?: number;
  /** Sync form only: write y into this Tensor (dims [M, N] or [N]) instead of a new one; no allocation. */
  out?: Tensor;
}

interface Prepared {
  M: number;
  act: NativeActivations;
  threads: number;
  out: Tensor | undefined;
}

const OPTION_NAMES = ["activations", "threads", "out"];
const ACTIVATIONS = ["int8", "float32"] as const;
const NO_OPTIONS: Record<string, unknown> = Object.freeze({});
// The checks below allocate nothing when the input is valid (a forward pass calls matmul for
// every layer of every token): one result object reused by every synchronous call, a key loop
// without Object.keys, and output dims compared in place.
const prepared: Prepared = { M: 0, act: 0, threads: 0, out: undefined };

/** Whether two typed arrays share any byte (views of one buffer whose ranges intersect). */
export function sharesMemory(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

function outDims(x: Tensor, N: number): number[] {
  return x.dims.length === 2 ? [x.dims[0], N] : [N];
}

function prepare(x: unknown, w: unknown, options: unknown, allowOut: boolean): Prepared {
  if (!(x instanceof Tensor)) throw typeError("matmul x", "a Tensor", x);
  if (!(w instanceof QTensor)) throw typeError("matmul w", "a QTensor (see quantize())", w);
  const opts = options === undefined ? NO_OPTIONS : checkOptions("matmul options", options);
  for (const key in opts) {
    if (!Object.prototype.hasOwnProperty.call(opts, key)) continue;
    if (!OPTION_NAMES.includes(key) || (key === "out" && !allowOut)) {
      throw rangeError("matmul options", `${allowOut ? OPTION_NAMES.join(", ") : "activations, threads"} only`, `option "${key}"`);
    }
  }
  const activations = opts.activations === undefined ? "int8" : checkOneOf("activations", opts.activations, ACTIVATIONS);
  const N = w.dims[0], K = w.dims[1];
  const xd = x.dims;
  if (xd.length !== 1 && xd.length !== 2) {
    throw rangeError("matmul x", "a Tensor of shape [K] or [M, K]", `dims [${xd.join(", ")}]`);
  }
  const xK = xd[xd.length - 1];
  if (xK !== K) throw rangeError("matmul x", `last dimension K = ${K} to match w [${N}, ${K}]`, `dims [${xd.join(", ")}]`);
  const M = xd.length === 2 ? xd[0] : 1;
  // threads 0 (or absent): the default, backend().threads
  const threads = opts.threads === undefined || opts.threads === 0 ? 0 : checkPositiveInt("threads", opts.threads, 256);
  let out: Tensor | undefined;
  if (opts.out !== undefined) {
    const o = opts.out;
    if (!(o instanceof Tensor)) throw typeError("matmul out", "a Tensor", o);
    const od = o.dims;
    if (od.length !== xd.length || od[od.length - 1] !== N || (xd.length === 2 && od[0] !== M)) {
      throw rangeError("matmul out", `dims [${outDims(x, N).join(", ")}]`, `dims [${od.join(", ")}]`);
    }
    // threads write y while others still read x: any shared byte gives wrong values
    if (sharesMemory(o.data, x.data)) throw rangeError("matmul out", "memory that does not overlap x", o.data === x.data ? "x itself" : "a view overlapping x");
    out = o;
  }
  prepared.M = M;
  prepared.act = activations === "int8" ? 0 : 1;
  prepared.threads = threads;
  prepared.out = out;
  return prepared;
}

function matmulSync(x: Tensor, w: QTensor, options?: MatmulOptions): Tensor {
  const p = prepare(x, w, options, true);
  if (p.out) {
    w.nativeMatrix().matmul(x.data, p.M, p.out.data, p.act, p.threads);
    return p.out;
  }
  const y = new Float32Array(p.M * w.dims[0]);
  w.nativeMatrix().matmul(x.data, p.M, y, p.act, p.threads);
  return new Tensor(y, outDims(x, w.dims[0]));
}

/** The same product computed on a worker thread: the event loop stays free. x is copied at the call. */
async function matmulAsync(x: Tensor, w: QTensor, options?: MatmulOptions): Promise<Tensor> {
  const { M, act, threads } = prepare(x, w, options, false);
  const y = await w.nativeMatrix().matmulAsync(x.data, M, act, threads);
  return new Tensor(y, outDims(x, w.dims[0]));
}

/**
 * y = x · Wᵀ: x [M, K] or [K] float32, W [N, K] INT4 -> y [M, N] or [N] float32.
 * `matmul.async(x, w)` does the same off the main thread.
 */
export const matmul: typeof matmulSync & { async: typeof matmulAsync } = Object.assign(matmulSync, { async: matmulAsync });
