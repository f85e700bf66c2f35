// Dispatch of quantize()'s `method` option (src/qtensor.ts) to the methods of this directory,
// with the checks of their inputs. Methods return parts in int4's layout; qtensor.ts wraps them.
import { checkOneOf, rangeError, typeError } from "../errors";
import type { GroupSize, Scheme } from "../qtensor";
import { Tensor } from "../tensor";
import { quantizeGptq } from "./gptq";
import { quantizeMse } from "./mse";
import type { Parts } from "./pack";

export type QuantMethod = "rtn" | "mse" | "gptq";
export const METHODS: readonly QuantMethod[] = ["rtn", "mse", "gptq"];

/** The method options of quantize(), already picked out of its options object. */
export interface MethodOptions {
  method?: unknown;
  importance?: unknown;
  hessian?: unknown;
  groupScales?: unknown;
}

/** importance: a Float32Array of K finite, non-negative values. */
export function checkImportance(name: string, v: unknown, K: number): Float32Array {
  if (!(v instanceof Float32Array)) throw typeError(name, `a Float32Array of length K = ${K}`, v);
  if (v.length !== K) throw rangeError(name, `length K = ${K}`, `length ${v.length}`);
  for (let i = 0; i < K; i++) {
    if (!(v[i] >= 0) || v[i] === Infinity) throw rangeError(name, "finite non-negative values", `${v[i]} at index ${i}`);
  }
  return v;
}

/** hessian: a Tensor [K, K] of finite values. */
export function checkHessian(name: string, v: unknown, K: number): Float32Array {
  if (!(v instanceof Tensor)) throw typeError(name, `a Tensor [${K}, ${K}]`, v);
  if (v.dims.length !== 2 || v.dims[0] !== K || v.dims[1] !== K) {
    throw rangeError(name, `dims [${K}, ${K}] (K = w's columns)`, `dims [${v.dims.join(", ")}]`);
  }
  const h = v.data;
  for (let i = 0; i < h.length; i++) {
    if (!Number.isFinite(h[i])) throw rangeError(name, "finite values", `${h[i]} at row ${Math.floor(i / K)}, column ${i % K}`);
  }
  return h;
}

function checkFinite(w: Float32Array, K: number): void {
  for (let i = 0; i < w.length; i++) {
    if (!Number.isFinite(w[i])) throw rangeError("quantize w", "finite values", `${w[i]} at row ${Math.floor(i / K)}, column ${i % K}`);
  }
}

/**
 * Runs a method other than "rtn". mse: importance, else diag(hessian) when given, else uniform.
 * gptq: hessian required; groupScales "mse" (default, weighted by importance or diag H) or "rtn".
 */
export function quantizeWithMethod(w: Tensor, groupSize: GroupSize, scheme: Scheme, opts: MethodOptions): Parts {
  const method = checkOneOf("method", opts.method, METHODS);
  const [N, K] = w.dims;
  const importance = opts.importance === undefined ? undefined : checkImportance("importance", opts.importance, K);
  const hessian = opts.hessian === undefined ? undefined : checkHessian("hessian", opts.hessian, K);
  if (opts.groupScales !== undefined && method !== "gptq") throw rangeError("groupScales", 'method "gptq"', `method "${method}"`);
  const groupScales = opts.groupScales === undefined ? "mse" : checkOneOf("groupScales", opts.groupScales, ["rtn", "mse"] as const);
  const data = w.data;
  if (method === "mse") {
    let imp: Float32Array | Float64Array | undefined = importance;
    if (!imp && hessian) {
      imp = new Float64Array(K);
      for (let k = 0; k < K; k++) imp[k] = Math.max(0, hessian[k * K + k]);
    }
    return quantizeMse(data, N, K, groupSize, scheme, imp);
  }
  if (method === "gptq") {
    if (!hessian) {
      throw typeError("hessian", `a Tensor [${K}, ${K}] for method "gptq" (XᵀX of the layer's calibration inputs: see hessianFromActivations)`, undefined);
    }
    checkFinite(data, K);
    return quantizeGptq(data, N, K, groupSize, scheme, hessian, { groupScales, importance });
  }
  throw rangeError("method", 'a method other than "rtn" here', method);
}

