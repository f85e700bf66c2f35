// Quantizing a whole model (README "Quantization methods"): which type each tensor gets, the
// method that picks its codes and scales, awq's folding, and the result as GGUF tensors (for
// `int4 quantize`) or as in-memory weights (for `int4 eval methods`).
//
// Tensor types, as llama-quantize chooses them for a Q4_0 / Q4_1 file of a model like this one:
//   1-D tensors (norms) F32; output.weight Q8_0; a matrix whose rows are not a multiple of 32
//   F16 (ggml's Q4_0/Q4_1 blocks cannot hold it); every other matrix (token_embd included) 4-bit.
// --all-4bit: every matrix 4-bit (int4's extension type where llama.cpp has no layout). The int4
// formats q4_g{32,64,128}_{sym,asym} hold any row length, so only output.weight differs there.
import { configFromGGUF, type ModelConfig } from "../model/config";
import type { GGUFFile } from "../gguf/reader";
import { LAYER_NORMS, MODEL_TENSORS, layerTensor } from "../model/arch";
import { layerFrom, tensorToF32, type LayerWeights, type Linear, type ModelWeights } from "../model/weights";
import { QTensor, type GroupSize, type Scheme } from "../qtensor";
import { BLOCK_TYPES, blockBytes, type GGMLType } from "../blockTypes";
import { native } from "../native";
import { LLAMA_FILE_TYPES, llamaTensorTypes, type LlamaFileType } from "./llamaTypes";
import { encodeF16, encodeQ8_0, int4RowBytes } from "../gguf/writer";
import { int4FormatName, parseInt4FormatName } from "../formatNames";
import { f16ToF32 } from "./fp16";
import { awqScales } from "./awq";
import { quantizeGptq } from "./gptq";
import { quantizeMse, rtnParts } from "./mse";
import { calibrate, type Calibration, type InputStats } from "./calibrate";
import type { Transformer } from "../model/transformer";
import { rowCodeBytes, type Parts } from "./pack";
import { polishCodes, refitScales } from "./refit";
import { embeddingHessian, isGptqBlockType, quantizeBlocksGptq, quantizeBlocksMse } from "./kquant";

/** llama.cpp file types written with llama-quantize's tensor types (rtn: its bytes); q4_0 and q4_1 are int4's own policy below. */
export const LLAMA_FORMATS = LLAMA_FILE_TYPES.filter((t) => t !== "q4_0" && t !== "q4_1");
export const FORMATS = ["q4_0", "q4_1", ...LLAMA_FORMATS, "q4_g32_sym", "q4_g32_asym", "q4_g64_sym", "q4_g64_asym", "q4_g128_sym", "q4_g128_asym"] as const;
export type Format = (typeof FORMATS)[number];

/** A format by its name or an older spelling of it (src/formatNames.ts); null for anything else. */
export function parseFormat(name: string): Format | null {
  const int4 = parseInt4FormatName(name);
  const f = int4 ? int4FormatName(int4.groupSize, int4.scheme) : name;
  return (FORMATS as readonly string[]).includes(f) ? (f as Format) : null;
}

/** rtn, mse (importance = diag H with calibration), gptq, awq (awq scaling + mse), awq+gptq (awq scaling, then gptq). */
export const MODEL_METHODS = ["rtn", "mse", "awq", "gptq", "awq+gptq"] as const;
export type ModelMethod = (typeof MODEL_METHODS)[number];
export const NEEDS_CALIBRATION: readonly ModelMethod[] = ["awq", "gptq", "awq+gptq"];

/** A format of llama-quantize's tensor types (LLAMA_FORMATS). */
export function isLlamaFormat(f: Format): boolean {
  return (LLAMA_FORMATS as readonly string[]).includes(f);
}

export function formatSpec(f: Format): { groupSize: GroupSize; scheme: Scheme; llamaTypes: boolean } {
  if (isLlamaFormat(f)) return { groupSize: 32, scheme: "symmetric", llamaTypes: true };
  if (f === "q4_0") return { groupSize: 32, scheme: "symmetric", llamaTypes: true };
  if (f === "q4_1") return { groupSize: 32, scheme: "asymmetric", llamaTypes: true };
  return { ...parseInt4FormatName(f)!, llamaTypes: false };
}

export interface QuantizeModelOptions {
  format: Format;
  method: ModelMethod;
  allFourBit?: boolean;
  calibration?: Calibration;
  /** gptq: damping λ / mean(diag H) (default 0.01; 0.1 for llama.cpp's super-block types). */
  dampRatio?: number;
  /** Collect the statistics of each layer's inputs with the layers before it quantized (replaces `calibration`). */
  sequential?: SequentialCalibration;
  /** Sequential gptq: per-row Hessians for ffn_gate / ffn_up / output (see InputStats.rowH; N·K² floats per matrix). */
  rowHessians?: boolean | "output";
  /** gptq: least-squares refit of the group scales for the output error once the codes are chosen (default true). */
  refit?: boolean;
  /** awq: α values tried (default 20). */
  awqGrid?: number;
  progress?: (done: number, total: number) => void;
}

/** "q4": int4's layout, by the method; a llama.cpp block type: round to nearest as llama-quantize. */
export type StoredType = "f32" | "f16" | "q8_0" | "q4" | Exclude<GGMLType, "q4_0" | "q4_1" | "q8_0">;

/** One tensor of the quantized model. */
export interface QuantizedTensor {
  name: string;
  /** Row-major dims ([N, K] for a matrix, [n] for a vector). */
  dims: number[];
  type: StoredType;
  /** type "q4" or a block type. */
  q?: QTensor;
  /** The other types: the values to store (f32; the encoder rounds them to the type). */
  values?: Float32Array;
}

export interface QuantizedModel {
  config: ModelConfig;
  tensors: QuantizedTensor[];
  /** awq: the α chosen per scaled input ("blk.0.attn", "blk.0.ffn", "blk.0.ffn_down", "output"). */
  awqAlpha: Record<string, number>;
  seconds: number;
}

/** The stored type of a tensor (the policy in the file comment). */
export function tensorType(name: string, dims: readonly number[], format: Format, allFourBit: boolean): StoredType {
  if (dims.length !== 2) return "f32";
  if (allFourBit) return "q4";
  if (name === MODEL_TENSORS.output) return "q8_0";
  if (formatSpec(format).llamaTypes && dims[1] % 32 !== 0) return "f16";
  return "q4";
}

function diagOf(H: Float64Array, K: number): Float64Array {
  const d = new Float64Array(K);
  for (let k = 0; k < K; k++) d[k] = Math.max(0, H[k * K + k]);
  return d;
}

/** diag(1/s) H diag(1/s): the Hessian of inputs x ⊘ s. */
function scaleHessian(H: Float64Array, s: Float32Array | null, K: number): Float64Array {
  if (!s) return H;
  const out = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) out[i * K + j] = H[i * K + j] / (s[i] * s[j]);
  return out;
}

/** Quantizes W [N, K] by a base method ("rtn", "mse" or "gptq") with input Hessian H (may be null). */
function quantizeMatrix(w: Float32Array, N: number, K: number, groupSize: GroupSize, scheme: Scheme,
                        method: "rtn" | "mse" | "gptq", H: Float64Array | null, dampRatio: number, refit = true): Parts {
  if (method === "rtn") {
    const { parts, bad } = rtnParts(w, N, K, groupSize, scheme);
    if (bad >= 0) throw new RangeError(`quantize: non-finite weight ${w[bad]} at row ${Math.floor(bad / K)}, column ${bad % K}`);
    return parts;
  }
  if (method === "mse" || !H) return quantizeMse(w, N, K, groupSize, scheme, H ? diagOf(H, K) : undefined);
  const parts = quantizeGptq(w, N, K, groupSize, scheme, H, { groupScales: "mse", dampRatio });
  // then alternate: codes by coordinate descent, scales by least squares (each step lowers the output error)
  if (refit) {
    refitScales(parts, w, N, K, groupSize, H);
    for (let round = 0; round < (Number(process.env.INT4_POLISH_ROUNDS) || 3); round++) {
      if (polishCodes(parts, w, N, K, groupSize, H) === 0) break;
      refitScales(parts, w, N, K, groupSize, H);
    }
  }
  return parts;
}

/** Σ over rows of δᵀ H δ, δ = W - Ŵ: the squared output error on the calibration inputs. */
function outputError(w: Float32Array, deq: Float32Array, N: number, K: number, H: Float64Array): number {
  const d = new Float64Array(K);
  let e = 0;
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) d[k] = w[n * K + k] - deq[n * K + k];
    for (let i = 0; i < K; i++) {
      if (d[i] === 0) continue;
      let t = 0;
      const hi = i * K;
      for (let j = 0; j < K; j++) t += H[hi + j] * d[j];
      e += d[i] * t;
    }
  }
  return e;
}

function scaleColumns(w: Float32Array, N: number, K: number, s: Float32Array): Float32Array {
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) out[n * K + k] = w[n * K + k] * s[k];
  return out;
}

/** gptq row by row, each row n with its own Hessian rowH[n] (InputStats.rowH), of inputs x ⊘ s when s is given. */
function quantizeRows(v: Float32Array, N: number, K: number, groupSize: GroupSize, scheme: Scheme, rowH: Float64Array,
                      s: Float32Array | null, dampRatio: number, refit: boolean): Parts {
  const G = Math.ceil(K / groupSize), rb = rowCodeBytes(K);
  const out: Parts = { codes: new Uint8Array(N * rb), scales: new Uint16Array(N * G), offsets: scheme === "asymmetric" ? new Uint16Array(N * G) : null };
  for (let n = 0; n < N; n++) {
    const Hn = scaleHessian(rowH.subarray(n * K * K, (n + 1) * K * K), s, K);
    const p = quantizeMatrix(v.subarray(n * K, (n + 1) * K), 1, K, groupSize, scheme, "gptq", Hn, dampRatio, refit);
    out.codes.set(p.codes, n * rb);
    out.scales.set(p.scales, n * G);
    if (out.offsets) out.offsets.set(p.offsets!, n * G);
  }
  return out;
}

/** Σ_n δ_nᵀ H_n δ_n, δ = W - Ŵ, each row with its own Hessian of inputs x ⊘ s. */
function rowsOutputError(w: Float32Array, deq: Float32Array, N: number, K: number, rowH: Float64Array, s: Float32Array | null): number {
  let e = 0;
  for (let n = 0; n < N; n++) {
    const Hn = scaleHessian(rowH.subarray(n * K * K, (n + 1) * K * K), s, K);
    e += outputError(w.subarray(n * K, (n + 1) * K), deq.subarray(n * K, (n + 1) * K), 1, K, Hn);
  }
  return e;
}

/**
 * awq's search over α for matrices sharing one input (stats `st`): for each α, quantize W·diag(s)
 * with `method` and measure Σ tr(ΔW H ΔWᵀ) in the original coordinates; α = 0 (s = 1) included,
 * so the result is never worse than no scaling on the calibration inputs. Returns s (null for α = 0).
 */
function awqSearch(ws: Float32Array[], Ns: number[], K: number, sts: InputStats[], groupSize: GroupSize, scheme: Scheme,
                   method: "mse" | "gptq", dampRatio: number, grid: number, refit: boolean): { s: Float32Array | null; alpha: number } {
  const st = sts[0];
  const meanAbs = Float64Array.from(st.absSum, (v) => v / Math.max(1, st.rows));
  let best = { err: Infinity, alpha: 0, s: null as Float32Array | null };
  for (let i = 0; i < grid; i++) {
    const alpha = i / grid;
    const s = i === 0 ? null : awqScales(meanAbs, alpha);
    const Hs = scaleHessian(st.H, s, K);
    let err = 0;
    ws.forEach((w, j) => {
      const N = Ns[j];
      const wsc = s ? scaleColumns(w, N, K, s) : w;
      // gptq with per-row Hessians (InputStats.rowH) is judged by them: the objective it minimizes
      const rowH = method === "gptq" ? sts[j].rowH : undefined;
      const parts = rowH ? quantizeRows(wsc, N, K, groupSize, scheme, rowH, s, dampRatio, refit) : quantizeMatrix(wsc, N, K, groupSize, scheme, method, Hs, dampRatio, refit);
      const q = new QTensor({ dims: [N, K], groupSize, scheme, ...parts });
      err += rowH ? rowsOutputError(wsc, q.dequantize().data, N, K, rowH, s) : outputError(wsc, q.dequantize().data, N, K, Hs);
      q.dispose();
    });
    if (err < best.err) best = { err, alpha, s };
  }
  return { s: best.s, alpha: best.alpha };
}

/**
 * Sequential calibration: the statistics of layer l's inputs are collected with the layers before
 * it (and the embedding) already quantized, as gptq's reference implementation does, so each
 * layer compensates the error that reaches it. `transformer` is an f32 model of the same file whose
 * weights are replaced, layer by layer, by the quantized ones (it is modified).
 */
export interface SequentialCalibration {
  transformer: Transformer;
  tokens: ArrayLike<number>;
  ctx: number;
  bos: number;
}

/**
 * Quantizes every tensor of a llama GGUF file. Reads the whole model as f32 first (a model's f32
 * size in memory), then goes layer by layer: awq's search and folding (awq methods), then each
 * matrix with its method.
 */
export function quantizeModel(f: GGUFFile, opts: QuantizeModelOptions): QuantizedModel {
  const t0 = performance.now();
  const config = configFromGGUF(f);
  const { groupSize, scheme } = formatSpec(opts.format);
  const allFourBit = opts.allFourBit ?? false;
  const seq = opts.sequential;
  let cal = opts.calibration;
  const method = opts.method;
  if (NEEDS_CALIBRATION.includes(method) && !cal && !seq) throw new RangeError(`method "${method}": expected calibration statistics (--calib FILE), got none`);
  const dampRatio = opts.dampRatio ?? 0.01;
  // llama.cpp's super-block types: 0.1 measured better than 0.01 on student-k256 (README)
  const blockDamp = opts.dampRatio ?? 0.1;
  const grid = opts.awqGrid ?? 20;
  const refit = opts.refit ?? true;
  const base: "rtn" | "mse" | "gptq" = method === "rtn" ? "rtn" : method === "mse" || method === "awq" ? "mse" : "gptq";
  const useAwq = method === "awq" || method === "awq+gptq";

  const values = new Map<string, Float32Array>();
  const dims = new Map<string, number[]>();
  for (const t of f.tensors) {
    values.set(t.name, tensorToF32(f, t));
    dims.set(t.name, t.ne.length === 1 ? [t.ne[0]] : [t.elements / t.ne[0], t.ne[0]]);
  }
  const llamaTypes = isLlamaFormat(opts.format) && !allFourBit
    ? llamaTensorTypes(opts.format as LlamaFileType, { nLayers: config.nLayers, nHeads: config.nHeads, nKvHeads: config.nKvHeads, hasOutput: f.tensor(MODEL_TENSORS.output) !== undefined }, f.tensors)
    : null;
  const typeOf = (name: string): StoredType => {
    if (!llamaTypes) return tensorType(name, dims.get(name)!, opts.format, allFourBit);
    const t = llamaTypes.get(name)!;
    return t === "q4_0" || t === "q4_1" ? "q4" : t;
  };
  const isQ4 = (name: string) => values.has(name) && typeOf(name) === "q4";
  const awqAlpha: Record<string, number> = {};
  const colScale = new Map<string, Float32Array>(); // tensor -> s its columns are multiplied by
  const done = new Map<string, QuantizedTensor>();
  const total = f.tensors.length;

  // awq: choose s for matrices sharing an input and fold 1/s into what produces that input
  const search = (key: string, names: string[], fold: (s: Float32Array) => void) => {
    const q = names.filter(isQ4);
    if (q.length === 0 || !cal) return;
    const K = dims.get(q[0])![1];
    const r = awqSearch(q.map((n) => values.get(n)!), q.map((n) => dims.get(n)![0]), K, q.map((n) => cal!.inputs.get(n)!), groupSize, scheme,
      base === "gptq" ? "gptq" : "mse", dampRatio, grid, refit);
    awqAlpha[key] = r.alpha;
    if (!r.s) return;
    for (const n of q) colScale.set(n, r.s);
    fold(r.s);
  };
  const divide = (name: string, s: Float32Array) => {
    const v = values.get(name)!;
    for (let k = 0; k < v.length; k++) v[k] /= s[k];
  };
  const quantizeTensor = (name: string) => {
    if (done.has(name) || !values.has(name)) return;
    const d = dims.get(name)!;
    const type = typeOf(name);
    let v = values.get(name)!;
    if (type !== "q4" && BLOCK_TYPES.has(type as GGMLType) && type !== "q8_0") {
      // llama.cpp's block types other than INT4: round to nearest, llama-quantize's bytes
      // (mse / gptq with calibration: the same types and bytes per tensor, codes and scales by the method)
      const t = BLOCK_TYPES.get(type as GGMLType)!;
      const [N, K] = d;
      const bytes = new Uint8Array(blockBytes(t, N, K));
      const st = base === "rtn" ? undefined : cal?.inputs.get(name);
      const s = colScale.get(name) ?? null;
      if (s) v = scaleColumns(v, N, K, s);
      const H = st ? scaleHessian(st.H, s, K) : null;
      // token_embd (a lookup, no input statistics; calibrated methods): the Hessian of its error
      // through layer 0's norms into attn_q/k/v and ffn_gate/up (embeddingHessian; layer 0 alone
      // measured best on student-k256, README): gptq with it, or mse with its diagonal
      const embH = name === MODEL_TENSORS.embed && base !== "rtn" && (cal || seq) ? embeddingHessian([
        ...(["wq", "wk", "wv"] as const).map((fld) => ({ gain: values.get(layerTensor(0, "attnNorm"))!, w: values.get(layerTensor(0, fld))!, N: dims.get(layerTensor(0, fld))![0] })),
        ...(["gate", "up"] as const).map((fld) => ({ gain: values.get(layerTensor(0, "ffnNorm"))!, w: values.get(layerTensor(0, fld))!, N: dims.get(layerTensor(0, fld))![0] })),
      ], K) : null;
      if (embH && base === "gptq" && isGptqBlockType(t.name)) quantizeBlocksGptq(t.name, v, N, K, embH, bytes, { dampRatio: blockDamp });
      else if (embH) quantizeBlocksMse(t.name, v, N, K, diagOf(embH, K), bytes);
      else if (!H) native.quantizeRowsGGML(t.ggufName, v, N, K, null, bytes);
      else if (base === "gptq" && isGptqBlockType(t.name)) {
        if (st!.rowH) {
          const rb = bytes.length / N;
          for (let n = 0; n < N; n++) {
            const Hn = scaleHessian(st!.rowH.subarray(n * K * K, (n + 1) * K * K), s, K);
            quantizeBlocksGptq(t.name, v.subarray(n * K, (n + 1) * K), 1, K, Hn, bytes.subarray(n * rb, (n + 1) * rb), { dampRatio: blockDamp });
          }
        } else quantizeBlocksGptq(t.name, v, N, K, H, bytes, { dampRatio: blockDamp });
      } else quantizeBlocksMse(t.name, v, N, K, diagOf(H, K), bytes);
      let q: QTensor;
      try {
        q = QTensor.fromGGML(t.name, bytes, [N, K]);
      } catch (e) {
        // weights beyond what the type's fp16 scales hold (llama-quantize writes such blocks as inf / NaN)
        throw new RangeError(`tensor "${name}" (${t.name}): ${(e as Error).message}; its weights are too large for ${t.ggufName}'s fp16 scales`);
      }
      done.set(name, { name, dims: d, type, q });
    } else if (type !== "q4") {
      done.set(name, { name, dims: d, type, values: v });
    } else {
      const [N, K] = d;
      const s = colScale.get(name) ?? null;
      const st = cal?.inputs.get(name);
      if (s) v = scaleColumns(v, N, K, s);
      const H = st ? scaleHessian(st.H, s, K) : null;
      // no input statistics (token_embd: a lookup table): mse unweighted for every method but rtn
      const m = base === "gptq" && !H ? "mse" : base;
      const parts = st?.rowH && m === "gptq" ? quantizeRows(v, N, K, groupSize, scheme, st.rowH, s, dampRatio, refit) : quantizeMatrix(v, N, K, groupSize, scheme, m, H, dampRatio, refit);
      done.set(name, { name, dims: d, type, q: new QTensor({ dims: [N, K], groupSize, scheme, ...parts }) });
    }
    opts.progress?.(done.size, total);
  };
  // sequential: put quantized tensors into the calibration model and collect statistics again
  const linearOf = (t: QuantizedTensor): Linear => t.q ? { kind: "q4", N: t.dims[0], K: t.dims[1], q: t.q! } : { kind: "f32", N: t.dims[0], K: t.dims[1], w: storedValues(t) };
  const install = (l: number) => {
    if (!seq) return;
    const w = seq.transformer.weights;
    if (l < 0) {
      const e = done.get(MODEL_TENSORS.embed);
      if (e) {
        const lin = linearOf(e);
        if (w.tied) w.output = lin;
        w.embed = lin;
      }
      return;
    }
    Object.assign(w.layers[l], layerFrom((field) => {
      const t = done.get(layerTensor(l, field))!;
      return LAYER_NORMS.includes(field) ? storedValues(t) : linearOf(t);
    }));
  };
  const recalibrate = () => {
    if (seq) cal = calibrate(seq.transformer, seq.tokens, seq.ctx, seq.bos, undefined, opts.rowHessians);
  };

  quantizeTensor(MODEL_TENSORS.embed);
  install(-1);
  for (let l = 0; l < config.nLayers; l++) {
    const p = `blk.${l}.`;
    const name = (field: keyof LayerWeights) => layerTensor(l, field);
    recalibrate();
    if (useAwq) {
      // ffn_down first: its scales go into ffn_up's rows, before ffn_up itself is searched
      search(p + "ffn_down", [name("down")], (s) => {
        const up = values.get(name("up"))!;
        const K = dims.get(name("up"))![1];
        for (let n = 0; n < s.length; n++) for (let k = 0; k < K; k++) up[n * K + k] /= s[n];
      });
      search(p + "attn", [name("wq"), name("wk"), name("wv")], (s) => divide(name("attnNorm"), s));
      search(p + "ffn", [name("gate"), name("up")], (s) => divide(name("ffnNorm"), s));
    }
    for (const t of f.tensors) if (t.name.startsWith(p)) quantizeTensor(t.name);
    install(l);
  }
  if (f.tensor(MODEL_TENSORS.output) && typeOf(MODEL_TENSORS.output) === "q4") {
    recalibrate();
    if (useAwq) search("output", [MODEL_TENSORS.output], (s) => divide(MODEL_TENSORS.outputNorm, s));
  }
  for (const t of f.tensors) quantizeTensor(t.name);
  const tensors = f.tensors.map((t) => done.get(t.name)!);
  return { config, tensors, awqAlpha, seconds: (performance.now() - t0) / 1000 };
}

/** The values a non-4-bit tensor has once stored (and read back): F16 and Q8_0 rounding applied. */
export function storedValues(t: QuantizedTensor): Float32Array {
  const v = t.values!;
  if (t.type === "f32") return v;
  const out = new Float32Array(v.length);
  if (t.type === "f16") {
    const b = encodeF16(v);
    for (let i = 0; i < v.length; i++) out[i] = f16ToF32(b[2 * i] | (b[2 * i + 1] << 8));
  } else {
    native.dequantizeGGML(BLOCK_TYPES.get("q8_0")!.id, encodeQ8_0(v), 1, v.length, out);
  }
  return out;
}

/** The quantized model as ModelWeights for Transformer, exactly as `int4 eval` runs its GGUF file (quant "stored"). */
export function toModelWeights(qm: QuantizedModel): ModelWeights {
  const byName = new Map(qm.tensors.map((t) => [t.name, t]));
  const get = (n: string) => {
    const t = byName.get(n);
    if (!t) throw new RangeError(`quantized model: missing tensor "${n}"`);
    return t;
  };
  const lin = (n: string): Linear => {
    const t = get(n);
    const [N, K] = t.dims;
    return t.q ? { kind: "q4", N, K, q: t.q } : { kind: "f32", N, K, w: storedValues(t) };
  };
  const vec = (n: string) => storedValues(get(n));
  const embed = lin(MODEL_TENSORS.embed);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < qm.config.nLayers; l++) {
    layers.push(layerFrom((field) => (LAYER_NORMS.includes(field) ? vec : lin)(layerTensor(l, field))));
  }
  const tied = !byName.has(MODEL_TENSORS.output);
  return { embed, layers, outputNorm: vec(MODEL_TENSORS.outputNorm), output: tied ? embed : lin(MODEL_TENSORS.output), tied };
}

/**
 * Bits per weight of the model's matrices: in memory (QTensors: codes with each row padded to
 * whole 32-code chunks, scales, offsets; F16 16, Q8_0 8.5), in the GGUF file (`int4 quantize`
 * packs a row's partial last chunk: int4RowBytes), and nominal: a 4-bit matrix at its format's
 * 4 + 16/G (symmetric) or 4 + 32/G (asymmetric), as if every row were a whole number of groups
 * (172-wide rows are not: their last group is partial).
 */
export function matrixBits(qm: QuantizedModel): { bits: number; weights: number; bitsPerWeight: number; fileBitsPerWeight: number; nominalBitsPerWeight: number } {
  let bits = 0, file = 0, nominal = 0, n = 0;
  for (const t of qm.tensors) {
    if (t.dims.length !== 2) continue;
    const [N, K] = t.dims;
    n += N * K;
    if (t.q && t.type !== "q4") {
      bits += t.q.byteLength * 8; // a llama.cpp block type: the same bytes everywhere
      file += t.q.byteLength * 8;
      nominal += t.q.byteLength * 8;
    } else if (t.type === "q4") {
      bits += t.q!.byteLength * 8;
      file += N * int4RowBytes(K, t.q!.groupSize, t.q!.scheme) * 8;
      nominal += N * K * (4 + (t.q!.scheme === "symmetric" ? 16 : 32) / t.q!.groupSize);
    } else {
      const b = N * K * (t.type === "f32" ? 32 : t.type === "f16" ? 16 : 8.5);
      bits += b;
      file += b;
      nominal += b;
    }
  }
  return { bits, weights: n, bitsPerWeight: bits / n, fileBitsPerWeight: file / n, nominalBitsPerWeight: nominal / n };
}

export function disposeQuantized(qm: QuantizedModel): void {
  for (const t of qm.tensors) if (t.q && !t.q.disposed) t.q.dispose();
}
