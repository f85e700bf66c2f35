// The native operators of the forward pass (cpp/ops, registered in cpp/napi/ops.cpp), typed.
// The binding re-checks every length; callers here pass buffers they sized themselves.
import { native, type NativeBinding, type NativeScheme } from "../native";

export interface NativeOps {
  /** x (M,K) @ w (N,K)^T -> y (M,N), f32. */
  sgemm(x: Float32Array, M: number, K: number, w: Float32Array, N: number, y: Float32Array, threads: number): void;
  /** threads (default 1) split big batches; the result does not depend on it (also siluMul, addInPlace). */
  rmsnorm(x: Float32Array, w: Float32Array, out: Float32Array, M: number, n: number, eps: number, threads?: number): void;
  /**
   * mode 0: "normal" (interleaved pairs), 2: "neox" (halves). Pair j turns by
   * freqScale * pos * base^(-2j/nRot) / factors[j] (factors: nRot/2 values or null), cos and sin times mscale.
   */
  rope(x: Float32Array, M: number, nHeads: number, headDim: number, pos0: number, nRot: number, base: number, mode: 0 | 2,
       factors?: Float32Array | null, freqScale?: number, mscale?: number): void;
  /**
   * Writes M rows of k, v (M, nKv*headDim) at pos0 into a layer's cache (nKv*ctx*headDim floats each, ctx a
   * multiple of 16): keys (nKv, ctx/16, headDim, 16), in blocks of 16 positions; values (nKv, ctx, headDim).
   */
  storeKV(k: Float32Array, v: Float32Array, M: number, pos0: number, nKv: number, headDim: number, ctx: number,
          kCache: Float32Array, vCache: Float32Array, cacheOffset: number): void;
  attention(q: Float32Array, kCache: Float32Array, vCache: Float32Array, cacheOffset: number, out: Float32Array,
            M: number, pos0: number, nHead: number, nKv: number, headDim: number, ctx: number, threads: number,
            /** scores q.k * scale (default 1/sqrt(headDim)) */ scale?: number,
            /** scores soft-capped to ±softcap (0: none) */ softcap?: number,
            /** a query at p sees keys t with p - t < window (0: all t <= p) */ window?: number): void;
  siluMul(gate: Float32Array, up: Float32Array, n: number, threads?: number): void;
  addInPlace(x: Float32Array, y: Float32Array, n: number, threads?: number): void;
  /** gate = gelu(gate) * up, GELU's tanh approximation (GeGLU). */
  geluMul(gate: Float32Array, up: Float32Array, n: number, threads?: number): void;
  /** x (M,n) += b (n) on every row. */
  addBias(x: Float32Array, b: Float32Array, M: number, n: number): void;
  /** x = cap * tanh(x / cap), n values. */
  softcap(x: Float32Array, n: number, cap: number): void;
  /** x *= s, n values. */
  scaleInPlace(x: Float32Array, n: number, s: number): void;
  copyF32(src: Float32Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number): void;
  getRowQ4(codes: Uint8Array, scales: Uint16Array, offsets: Uint16Array | null, N: number, K: number,
           groupSize: number, scheme: NativeScheme, row: number, out: Float32Array, outOffset: number): void;
  fillNormal(dst: Float32Array, seed: number, offset: number, scale: number, threads: number): void;
  /** Random INT4 weights (fillNormal values, quantized block by block): returns [squared error, squared values] over sampled rows. */
  randomQ4(codes: Uint8Array, scales: Uint16Array, offsets: Uint16Array | null, N: number, K: number, groupSize: number,
           scheme: NativeScheme, seed: number, scale: number, threads: number): [number, number];
}

export const ops = native as NativeBinding & NativeOps;
