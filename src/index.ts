// int4: INT4 weights on the CPU. Public API.
import { native } from "./native";

export { Tensor } from "./tensor";
export { QTensor, quantize, dequantize, GROUP_SIZES, SCHEMES } from "./qtensor";
export type { Scheme, GroupSize, GGMLType, QuantizeOptions, QTensorParts } from "./qtensor";
export { matmul } from "./matmul";
export type { MatmulOptions } from "./matmul";

export interface BackendInfo {
  /** The kernel set in use ("scalar", "avx2", "avx512", "neon"); INT4_ISA overrides the automatic choice. */
  isa: string;
  /** Kernel sets this build has and this CPU can run. */
  available: string[];
  /** Threads a matmul uses. */
  threads: number;
}

/** What the native backend chose at load. */
export function backend(): BackendInfo {
  const b = native.backend();
  return { isa: b.isa, available: b.available.split(","), threads: b.threads };
}

/** SHA-256 of the native sources the loaded binary was built from (see cmake/source_hash.cmake). */
export function nativeSourceHash(): string {
  return native.sourceHash();
}

// Quantization methods (src/quant/, README "Quantization methods")
export { hessianFromActivations, activationStats, quantizationError, awqQuantize, awqScales, awqFoldIntoNorm, awqFoldIntoRows, METHODS } from "./quant/index";
export type { QuantizationError, AwqOptions, AwqResult, QuantMethod } from "./quant/index";
