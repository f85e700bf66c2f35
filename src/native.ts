// The native binding, loaded once. node-gyp-build takes a local build (build/Release) when there
// is one and otherwise the committed prebuild for this platform (prebuilds/<platform>-<arch>/), so
// an installed package needs no compiler and no install script.
import * as path from "node:path";
import nodeGypBuild from "node-gyp-build";

/** Scheme as the binding numbers it: 0 symmetric, 1 asymmetric. */
export type NativeScheme = 0 | 1;

/** Activations as the binding numbers them: 0 int8, 1 float32. */
export type NativeActivations = 0 | 1;

export interface NativeQMatrix {
  /** threads: 0 means the default (backend().threads). */
  matmul(x: Float32Array, M: number, y: Float32Array, activations: NativeActivations, threads: number): void;
  matmulAsync(x: Float32Array, M: number, activations: NativeActivations, threads: number): Promise<Float32Array>;
  dispose(): void;
}

export interface NativeBinding {
  sourceHash(): string;
  backend(): { isa: string; kernels: string; available: string; threads: number };
  quantize(w: Float32Array, N: number, K: number, groupSize: number, scheme: NativeScheme,
           codes: Uint8Array, scales: Uint16Array, offsets: Uint16Array | null): number;
  dequantize(codes: Uint8Array, scales: Uint16Array, offsets: Uint16Array | null, N: number, K: number,
             groupSize: number, scheme: NativeScheme, out: Float32Array): void;
  fromGGML(blocks: Uint8Array, N: number, K: number, scheme: NativeScheme, codes: Uint8Array,
           scales: Uint16Array, offsets: Uint16Array | null): void;
  toGGML(codes: Uint8Array, scales: Uint16Array, offsets: Uint16Array | null, N: number, K: number,
         scheme: NativeScheme, out: Uint8Array): void;
  f16ToF32(src: Uint16Array, dst: Float32Array): void;
  bf16ToF32(src: Uint16Array, dst: Float32Array): void;
  dequantizeQ8_0(blocks: Uint8Array, dst: Float32Array): void;
  QMatrix: new (codes: Uint8Array, scales: Uint16Array, offsets: Uint16Array | null, N: number, K: number,
                groupSize: number, scheme: NativeScheme) => NativeQMatrix;
  /** ys[i] = x (M,K) @ ws[i]^T for up to 8 matrices of the same K, in one pass of the thread pool. */
  matmulShared(ws: NativeQMatrix[], x: Float32Array, M: number, ys: Float32Array[], activations: NativeActivations,
               threads: number): void;
}

/** The package root: one level above this file, in src/ (tests) and dist/ (installed) alike. */
export const packageRoot = path.resolve(__dirname, "..");

export const native: NativeBinding = nodeGypBuild(packageRoot) as NativeBinding;
