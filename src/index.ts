// int4: INT4 weights on the CPU. Public API.
import { native, nativeFile } from "./native";

export { Tensor } from "./tensor";
export { QTensor, quantize, dequantize, GROUP_SIZES, SCHEMES } from "./qtensor";
export type { Scheme, GroupSize, GGMLType, QuantizeOptions, QTensorParts, QTensorBlocks } from "./qtensor";
export { BLOCK_TYPES, BLOCK_TYPE_NAMES } from "./blockTypes";
export type { BlockTypeInfo } from "./blockTypes";
export { matmul } from "./matmul";
export type { MatmulOptions } from "./matmul";

export interface BackendInfo {
  /** The kernel set in use ("scalar", "avx2", "avx512", "neon"); INT4_ISA overrides the automatic choice. */
  isa: string;
  /** The exact kernel table: the ISA plus the extension it uses ("avx2+vnni", "neon+dotprod"). */
  kernels: string;
  /** Kernel sets this build has and this CPU can run. */
  available: string[];
  /** Threads a matmul uses by default: the cores this process may run on (its affinity mask). */
  threads: number;
  /** The native binary in use: build/Release/int4.node (a local build) or prebuilds/<platform>-<arch>/int4.napi.node. */
  binary: string;
}

/** What the native backend chose at load. */
export function backend(): BackendInfo {
  const b = native.backend();
  return { isa: b.isa, kernels: b.kernels, available: b.available.split(","), threads: b.threads, binary: nativeFile };
}

/** SHA-256 of the native sources the loaded binary was built from (see cmake/source_hash.cmake). */
export function nativeSourceHash(): string {
  return native.sourceHash();
}

// ---- inference: GGUF models, tokenizer, sampler (src/gguf, src/model) ----
export { loadModel, Model, DEMO_MODEL } from "./model/model";
export type { LoadModelOptions, GenerateOptions, GenerateChunk } from "./model/model";
export type { ModelInfo } from "./model/engine";
export type { GenerateStats, StopReason } from "./model/protocol";
export type { ModelConfig } from "./model/config";
/** @deprecated the former name of ModelConfig */
export type { ModelConfig as LlamaConfig } from "./model/config";
export { QUANT_NAMES } from "./model/quant";
export type { QuantName } from "./model/quant";
export { openGGUF, GGUFError } from "./gguf/reader";
export type { GGUFFile, GGUFTensorInfo, GGUFValue, GGUFArray } from "./gguf/reader";
export { Tokenizer } from "./tokenizer";
export { ChatSession } from "./chat/session";
export type { ChatOptions, Reply } from "./chat/session";
export { renderChat, BUILTIN_TEMPLATES } from "./chat/template";
export type { ChatMessage, RenderOptions } from "./chat/template";
export { Sampler } from "./sampler";
export type { SamplerOptions } from "./sampler";

// Quantization methods (src/quant/, README "Quantization methods")
export { hessianFromActivations, activationStats, quantizationError, awqQuantize, awqScales, awqFoldIntoNorm, awqFoldIntoRows, METHODS } from "./quant/index";
export type { QuantizationError, AwqOptions, AwqResult, QuantMethod } from "./quant/index";
