// Model weights in memory: every linear layer is a Linear (an INT4 QTensor, or f32 for the
// reference path); norms stay f32. Loading converts one GGUF tensor at a time, so the f32 copy of
// at most one tensor exists at once.
import { GGUFError, q, type GGUFFile, type GGUFTensorInfo } from "../gguf/reader";
import { BLOCK_TYPES, blockBytes, blockTypeOfGGUF } from "../blockTypes";
import { INT4_EXT_TYPES } from "../gguf/types";
import { native } from "../native";
import { decodeInt4, int4ExtensionOf } from "../gguf/writer";
import { QTensor, layoutOf, quantize } from "../qtensor";
import { Tensor } from "../tensor";
import { LAYER_VECTORS, LLAMA_FIELDS, MODEL_TENSORS, architecture, layerTensor, type Source } from "./arch";
import { DEMO_CONFIG, expectedTensors, type ModelConfig } from "./config";
import { ops } from "./nativeOps";
import { matrixBytes, type QuantSpec } from "./quant";

/** W [N, K]: N outputs, K inputs. */
export type Linear =
  | { kind: "q4"; N: number; K: number; q: QTensor }
  | { kind: "f32"; N: number; K: number; w: Float32Array };

export interface LayerWeights {
  attnNorm: Float32Array;
  wq: Linear;
  wk: Linear;
  wv: Linear;
  wo: Linear;
  ffnNorm: Float32Array;
  gate: Linear;
  up: Linear;
  down: Linear;
  // what other architectures add (./arch declares which): absent in llama
  /** biases of Q, K, V (qwen2) */
  bq?: Float32Array;
  bk?: Float32Array;
  bv?: Float32Array;
  /** RMSNorm weights (headDim) on each head of Q and of K, before RoPE (qwen3, gemma3) */
  qNorm?: Float32Array;
  kNorm?: Float32Array;
  /** RMSNorms of the attention and FFN outputs before their residual adds (gemma2, gemma3) */
  postAttnNorm?: Float32Array;
  postFfnNorm?: Float32Array;
}

export interface ModelWeights {
  embed: Linear;
  layers: LayerWeights[];
  outputNorm: Float32Array;
  /** The embedding itself when the file has no output.weight (tied). */
  output: Linear;
  tied: boolean;
  /** RoPE frequency factors (nRot/2): Llama 3's rope_freqs; Phi-3's LongRoPE factors (long: beyond the original context) */
  ropeFreqs?: Float32Array;
  ropeFactorsLong?: Float32Array;
  ropeFactorsShort?: Float32Array;
  /** The tensor each matrix was loaded from (a fused one's name for its parts): for reports and the llama.cpp comparison. */
  tensorNames?: Map<Linear, string>;
}

export function linearBytes(l: Linear): number {
  return l.kind === "q4" ? l.q.byteLength : l.w.byteLength;
}

/** Weight bytes, weights in linear layers, and bits per linear weight. */
export function weightStats(w: ModelWeights): { bytes: number; linearBytes: number; linearWeights: number; bitsPerWeight: number } {
  const linears: Linear[] = [w.embed, ...w.layers.flatMap((l) => [l.wq, l.wk, l.wv, l.wo, l.gate, l.up, l.down])];
  if (!w.tied) linears.push(w.output);
  let lb = 0, n = 0, norms = w.outputNorm.byteLength;
  for (const l of linears) {
    lb += linearBytes(l);
    n += l.N * l.K;
  }
  for (const l of w.layers) {
    for (const v of [l.attnNorm, l.ffnNorm, l.bq, l.bk, l.bv, l.qNorm, l.kNorm, l.postAttnNorm, l.postFfnNorm]) norms += v?.byteLength ?? 0;
  }
  return { bytes: lb + norms, linearBytes: lb, linearWeights: n, bitsPerWeight: (lb * 8) / n };
}

// ---- from GGUF ----

/**
 * The bytes the weights of `f` take in memory under `spec` (what int4 info prints), from the
 * tensor table alone: known before anything is allocated.
 */
export function weightBytesOf(f: GGUFFile, spec: QuantSpec): number {
  let bytes = 0;
  for (const t of f.tensors) {
    if (t.ne.length !== 2) {
      bytes += t.elements * 4;
      continue;
    }
    const N = t.ne[1], K = t.ne[0];
    const keeps4bit = spec.kind === "q4" && (t.type.name === "Q4_0" || t.type.name === "Q4_1" || int4ExtensionOf(t.type.id) !== null);
    const block = blockTypeOfGGUF(t.type.name);
    if (spec.native && block && !keeps4bit && K % block.blockSize === 0) bytes += blockBytes(block, N, K);
    else if (spec.stored && !keeps4bit) bytes += N * K * 4;
    else if (spec.keepAnyQ4 && t.type.name === "Q4_1") bytes += matrixBytes({ ...spec, scheme: "asymmetric" }, N, K);
    else bytes += matrixBytes(spec, N, K);
  }
  return bytes;
}

/** Refuses a load whose weights would not fit in this machine's memory, before allocating them. */
export function checkLoadFits(f: GGUFFile, spec: QuantSpec, totalMemory: number): void {
  const need = weightBytesOf(f, spec);
  if (need > totalMemory) {
    const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
    throw new RangeError(`GGUF ${f.path}: its weights take ${gib(need)} in memory with quant "${spec.name}", more than this machine's ${gib(totalMemory)}`);
  }
}

/** The tensor types int4 loads: floats, llama.cpp's block types (native kernels), int4's own. */
export const LOADABLE_TYPES: readonly string[] = ["F32", "F16", "BF16", ...[...BLOCK_TYPES.values()].map((t) => t.ggufName)];

/** Whether int4 loads tensors of this GGUF type (int4 info names the others). */
export function isLoadableType(name: string): boolean {
  return LOADABLE_TYPES.includes(name) || INT4_EXT_TYPES.includes(name);
}

function unsupported(t: GGUFTensorInfo): GGUFError {
  return new GGUFError(`tensor ${q(t.name)} has type ${t.type.name}, which int4 cannot load (supported: ${LOADABLE_TYPES.join(", ")} and int4's INT4_G* types)`);
}

/**
 * The quant a file loads with when the caller names none: "native" when any matrix is quantized
 * (run it as stored), "q4" for a float file (quantized to INT4 at load).
 */
export function defaultQuant(f: GGUFFile): "native" | "q4" {
  const float = ["F32", "F16", "BF16"];
  return f.tensors.some((t) => t.ne.length === 2 && !float.includes(t.type.name)) ? "native" : "q4";
}

/** A GGUF tensor's values as f32 (any supported type); a NaN or infinity is a GGUFError naming the tensor. */
export function tensorToF32(f: GGUFFile, t: GGUFTensorInfo): Float32Array {
  let out: Float32Array;
  try {
    out = decodeF32(f, t);
  } catch (e) {
    if (e instanceof GGUFError) throw e;
    throw new GGUFError(`GGUF ${f.path}: tensor ${q(t.name)} (${t.type.name}): ${(e as Error).message}`);
  }
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) {
      throw new GGUFError(`GGUF ${f.path}: tensor ${q(t.name)} (${t.type.name}) holds ${out[i]} at element ${i} (row ${Math.floor(i / t.ne[0])}, column ${i % t.ne[0]}); weights must be finite`);
    }
  }
  return out;
}

function decodeF32(f: GGUFFile, t: GGUFTensorInfo): Float32Array {
  const bytes = f.readTensorBytes(t);
  const out = new Float32Array(t.elements);
  switch (t.type.name) {
    case "F32":
      out.set(bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, t.elements) : new Float32Array(bytes.slice().buffer));
      return out;
    case "F16":
    case "BF16": {
      const h = bytes.byteOffset % 2 === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, t.elements) : new Uint16Array(bytes.slice().buffer);
      if (t.type.name === "F16") ops.f16ToF32(h, out);
      else ops.bf16ToF32(h, out);
      return out;
    }
    default: {
      const block = blockTypeOfGGUF(t.type.name);
      if (block) {
        const K = t.ne[0];
        if (K % block.blockSize !== 0) throw new GGUFError(`GGUF ${f.path}: tensor ${q(t.name)} (${t.type.name}) has rows of ${K} values, not a multiple of its block size ${block.blockSize}`);
        native.dequantizeGGML(block.id, bytes, t.elements / K, K, out);
        return out;
      }
      // int4 extension types (written by `int4 quantize`)
      if (int4ExtensionOf(t.type.id)) {
        const q = decodeInt4(t.type.id, bytes, [t.elements / t.ne[0], t.ne[0]]);
        out.set(q.dequantize().data);
        q.dispose();
        return out;
      }
      throw unsupported(t);
    }
  }
}

/** Converts one matrix tensor (ggml ne [K, N]) to a Linear under the quant spec. */
export function loadLinear(f: GGUFFile, t: GGUFTensorInfo, spec: QuantSpec): Linear {
  try {
    return loadLinearUnnamed(f, t, spec);
  } catch (e) {
    if (e instanceof GGUFError) throw e;
    throw new GGUFError(`GGUF ${f.path}: tensor ${q(t.name)} (${t.type.name}): ${(e as Error).message}`);
  }
}

function loadLinearUnnamed(f: GGUFFile, t: GGUFTensorInfo, spec: QuantSpec): Linear {
  if (!isLoadableType(t.type.name)) throw unsupported(t);
  const K = t.ne[0], N = t.elements / K;
  if (spec.kind === "q4" && (t.type.name === "Q4_0" || t.type.name === "Q4_1")) {
    const scheme = t.type.name === "Q4_0" ? "symmetric" : "asymmetric";
    if (spec.keepAnyQ4 || (spec.groupSize === 32 && spec.scheme === scheme)) {
      // the file's blocks as they are: bit-exact, no re-quantization
      return { kind: "q4", N, K, q: QTensor.fromGGML(t.type.name === "Q4_0" ? "q4_0" : "q4_1", f.readTensorBytes(t), [N, K]) };
    }
  }
  // int4's extension types as they are when the quant matches; "stored" keeps other matrices at f32
  const ext = int4ExtensionOf(t.type.id);
  if (spec.kind === "q4" && ext && (spec.keepAnyQ4 || (spec.groupSize === ext.groupSize && spec.scheme === ext.scheme))) {
    return { kind: "q4", N, K, q: decodeInt4(t.type.id, f.readTensorBytes(t), [N, K]) };
  }
  const block = blockTypeOfGGUF(t.type.name);
  if (spec.native && block) {
    if (K % block.blockSize !== 0) throw new GGUFError(`GGUF ${f.path}: tensor ${q(t.name)} (${t.type.name}) has rows of ${K} values, not a multiple of its block size ${block.blockSize}`);
    return { kind: "q4", N, K, q: QTensor.fromGGML(block.name, f.readTensorBytes(t), [N, K]) };
  }
  if (spec.stored) return { kind: "f32", N, K, w: tensorToF32(f, t) };
  return fromF32(tensorToF32(f, t), N, K, spec, t.name);
}

export function fromF32(w: Float32Array, N: number, K: number, spec: QuantSpec, name: string): Linear {
  if (spec.kind === "f32") return { kind: "f32", N, K, w };
  try {
    return { kind: "q4", N, K, q: quantize(new Tensor(w, [N, K]), { groupSize: spec.groupSize, scheme: spec.scheme }) };
  } catch (e) {
    throw new GGUFError(`tensor ${q(name)}: ${(e as Error).message}`);
  }
}

function vector(f: GGUFFile, name: string): Float32Array {
  const t = f.tensor(name);
  if (!t) throw new GGUFError(`GGUF ${f.path}: missing tensor "${name}"`);
  return tensorToF32(f, t);
}

function matrix(f: GGUFFile, name: string, spec: QuantSpec): Linear {
  const t = f.tensor(name);
  if (!t) throw new GGUFError(`GGUF ${f.path}: missing tensor "${name}"`);
  return loadLinear(f, t, spec);
}

/**
 * A matrix that is only ever multiplied: make its native copy for matmul now and drop the
 * JavaScript arrays, so a loaded model holds its weights once (not the embedding, whose rows are
 * looked up from its codes).
 */
function multiplyOnly(l: Linear): Linear {
  if (l.kind === "q4") l.q.releaseHost();
  return l;
}

/** A llama layer's weights, each field from `get` (a norm's vector or a matrix's Linear). */
export function layerFrom(get: (field: keyof LayerWeights) => Float32Array | Linear): LayerWeights {
  const l: Record<string, Float32Array | Linear> = {};
  for (const field of LLAMA_FIELDS) l[field] = get(field);
  return l as unknown as LayerWeights;
}

/**
 * Rows [r0, r0 + n) of a fused matrix (Phi-3's attn_qkv, ffn_up) as a Linear of its own: a block
 * type's rows are whole blocks, so "native" keeps the file's bytes; otherwise the rows' f32
 * values, converted under the quant spec.
 */
function matrixRows(f: GGUFFile, t: GGUFTensorInfo, r0: number, n: number, spec: QuantSpec): Linear {
  if (!isLoadableType(t.type.name)) throw unsupported(t);
  const K = t.ne[0];
  const q4 = t.type.name === "Q4_0" ? 18 : t.type.name === "Q4_1" ? 20 : 0; // bytes per 32 values
  if (q4 && spec.kind === "q4" && spec.keepAnyQ4) {
    const rowBytes = (K / 32) * q4;
    const bytes = f.readTensorBytes(t).slice(r0 * rowBytes, (r0 + n) * rowBytes);
    return { kind: "q4", N: n, K, q: QTensor.fromGGML(t.type.name === "Q4_0" ? "q4_0" : "q4_1", bytes, [n, K]) };
  }
  const block = blockTypeOfGGUF(t.type.name);
  if (spec.native && block && K % block.blockSize === 0 && spec.kind === "q4") {
    const rowBytes = blockBytes(block, 1, K);
    const bytes = f.readTensorBytes(t).slice(r0 * rowBytes, (r0 + n) * rowBytes);
    return { kind: "q4", N: n, K, q: QTensor.fromGGML(block.name, bytes, [n, K]) };
  }
  const w = tensorToF32(f, t).slice(r0 * K, (r0 + n) * K);
  if (spec.stored) return { kind: "f32", N: n, K, w };
  return fromF32(w, n, K, spec, t.name);
}

function sourceMatrix(f: GGUFFile, src: Source, spec: QuantSpec): Linear {
  if (!src.rows) return matrix(f, src.tensor, spec);
  const t = f.tensor(src.tensor);
  if (!t) throw new GGUFError(`GGUF ${f.path}: missing tensor "${src.tensor}"`);
  try {
    return matrixRows(f, t, src.rows[0], src.rows[1], spec);
  } catch (e) {
    if (e instanceof GGUFError) throw e;
    throw new GGUFError(`GGUF ${f.path}: tensor ${q(t.name)} (${t.type.name}): ${(e as Error).message}`);
  }
}

/** Loads every weight of a model of any registered architecture (shapes already checked by configFromGGUF). */
export function loadWeights(f: GGUFFile, c: ModelConfig, spec: QuantSpec): ModelWeights {
  // Check every tensor's type first: an unsupported one fails before minutes of conversion.
  const expected = new Set(expectedTensors(c).map(([name]) => name));
  for (const t of f.tensors) {
    if (expected.has(t.name) && !isLoadableType(t.type.name)) throw unsupported(t);
  }
  const arch = architecture(c.arch)!;
  const tensorNames = new Map<Linear, string>();
  const embed = matrix(f, MODEL_TENSORS.embed, spec);
  tensorNames.set(embed, MODEL_TENSORS.embed);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const w: Record<string, Float32Array | Linear> = {};
    for (const [field, src] of Object.entries(arch.layer(c, l)) as [keyof LayerWeights, Source][]) {
      if (LAYER_VECTORS.includes(field)) w[field] = vector(f, src.tensor);
      else {
        const lin = multiplyOnly(sourceMatrix(f, src, spec));
        tensorNames.set(lin, src.tensor);
        w[field] = lin;
      }
    }
    layers.push(w as unknown as LayerWeights);
  }
  const outputNorm = vector(f, MODEL_TENSORS.outputNorm);
  const hasOutput = f.tensor(MODEL_TENSORS.output) !== undefined;
  const output = hasOutput ? multiplyOnly(matrix(f, MODEL_TENSORS.output, spec)) : embed;
  if (hasOutput) tensorNames.set(output, MODEL_TENSORS.output);
  // only the factor tensors the architecture declares (their shapes are checked), as llama.cpp
  // creates only those: a phi3 file's rope_freqs or a llama file's rope_factors_* is not used.
  // RoPE divides the angles by them: one not finite and positive would make every logit NaN.
  const optional = (name: string) => {
    if (!expected.has(name) || !f.tensor(name)) return undefined;
    const v = vector(f, name);
    const i = v.findIndex((x) => !(x > 0 && Number.isFinite(x)));
    if (i >= 0) throw new GGUFError(`GGUF ${f.path}: tensor ${q(name)}: RoPE frequency factor ${i} is ${v[i]}, expected a finite positive number`);
    return v;
  };
  const weights: ModelWeights = { embed, layers, outputNorm, output, tied: !hasOutput, tensorNames };
  const factors = { ropeFreqs: optional(MODEL_TENSORS.ropeFreqs), ropeFactorsLong: optional(MODEL_TENSORS.ropeFactorsLong), ropeFactorsShort: optional(MODEL_TENSORS.ropeFactorsShort) };
  for (const [k, v] of Object.entries(factors)) if (v) (weights as unknown as Record<string, Float32Array>)[k] = v;
  return weights;
}

// ---- the demo model: random weights at TinyLlama-1.1B's shape ----

export const DEMO_SEED = 1234;

export interface DemoError {
  /** Relative RMS error of the INT4 weights against their f32 values, over sampled rows. */
  weightRelRms: number;
}

/**
 * Deterministic random weights (approximately normal, std 0.02; embeddings std 1; norms 1),
 * generated natively and quantized as they are generated (cpp/ops/demo.cpp), on `threads` threads.
 * Names and shapes are the architecture's (./arch); each matrix's seed is its place in the order
 * embedding, each layer's matrices, output.
 */
export function demoWeights(spec: QuantSpec, threads: number, c: ModelConfig = DEMO_CONFIG): { weights: ModelWeights; error: DemoError } {
  let tensorIndex = 0;
  let errSq = 0, refSq = 0;
  const shapes = new Map(expectedTensors(c).map(([name, ne]) => [name, ne]));
  const gen = (name: string, std: number): Linear => {
    const [K, N] = shapes.get(name)!;
    const seed = DEMO_SEED + tensorIndex++ * 1000003;
    if (spec.kind === "f32") {
      const w = new Float32Array(N * K);
      ops.fillNormal(w, seed, 0, std, threads);
      return { kind: "f32", N, K, w };
    }
    // generated and quantized natively a block of rows at a time: no f32 copy of the tensor
    const lay = layoutOf(N, K, spec.groupSize);
    const codes = new Uint8Array(lay.codeBytes);
    const scales = new Uint16Array(lay.scaleCount);
    const offsets = spec.scheme === "asymmetric" ? new Uint16Array(lay.scaleCount) : null;
    const [e2, r2] = ops.randomQ4(codes, scales, offsets, N, K, spec.groupSize, spec.scheme === "symmetric" ? 0 : 1, seed, std, threads);
    errSq += e2;
    refSq += r2;
    return { kind: "q4", N, K, q: new QTensor({ dims: [N, K], groupSize: spec.groupSize, scheme: spec.scheme, codes, scales, offsets }) };
  };
  const ones = () => new Float32Array(c.dim).fill(1);
  const embed = gen(MODEL_TENSORS.embed, 1);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const w: Partial<Record<keyof LayerWeights, Float32Array | Linear>> = {};
    for (const field of LLAMA_FIELDS) {
      w[field] = LAYER_VECTORS.includes(field) ? ones() : multiplyOnly(gen(layerTensor(l, field), 0.02));
    }
    layers.push(w as LayerWeights);
  }
  const output = multiplyOnly(gen(MODEL_TENSORS.output, 0.02));
  return {
    weights: { embed, layers, outputNorm: ones(), output, tied: false },
    error: { weightRelRms: refSq > 0 ? Math.sqrt(errSq / refSq) : 0 },
  };
}
