// ESM entry: the CommonJS build re-exported, so both module systems share one native binding.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const int4 = require("../dist/index.js");

export const { Tensor, QTensor, quantize, dequantize, matmul, backend, nativeSourceHash, GROUP_SIZES, SCHEMES, BLOCK_TYPES, BLOCK_TYPE_NAMES,
  // inference
  loadModel, Model, DEMO_MODEL, QUANT_NAMES, openGGUF, GGUFError, Tokenizer, Sampler, ChatSession, renderChat, BUILTIN_TEMPLATES,
  // quantization methods
  hessianFromActivations, activationStats, quantizationError, awqQuantize, awqScales, awqFoldIntoNorm, awqFoldIntoRows, METHODS,
} = int4;
export default int4;
