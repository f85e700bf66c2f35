// QTensor: a quantized matrix [N, K]. Either INT4 in int4's public layout (see README "The INT4
// format" and cpp/int4/format.h): codes two per byte in 32-weight chunks of llama.cpp's nibble
// order, one fp16 scale per group (and one fp16 offset per group when asymmetric); or one of
// llama.cpp's block types (Q4_K, Q6_K, IQ4_XS, ...: src/blockTypes.ts) held as its blocks, bytes
// exactly as GGUF stores them, multiplied by native kernels for that type.
import { BLOCK_TYPES, BLOCK_TYPE_NAMES, blockBytes, type BlockTypeInfo, type GGMLType } from "./blockTypes";
import { checkDims, checkOneOf, checkOptions, rangeError, typeError } from "./errors";
import { native, type NativeQMatrix, type NativeScheme } from "./native";
import { quantizeWithMethod, type QuantMethod } from "./quant/methods";
import { Tensor } from "./tensor";

export type Scheme = "symmetric" | "asymmetric";
export type GroupSize = 32 | 64 | 128 | 256;
export const GROUP_SIZES: readonly GroupSize[] = [32, 64, 128, 256];
export const SCHEMES: readonly Scheme[] = ["symmetric", "asymmetric"];

export type { GGMLType } from "./blockTypes";

export interface QuantizeOptions {
  /** Weights per scale along K: 32 (default), 64, 128 or 256. */
  groupSize?: GroupSize;
  /** "symmetric" (default): codes -8..7 and a scale, like Q4_0. "asymmetric": codes 0..15, a scale and a minimum, like Q4_1. */
  scheme?: Scheme;
  // quantization methods (src/quant/, README "Quantization methods")
  /** "rtn" (default): round to nearest, natively, bit-exact with llama.cpp. "mse": per-group scale search. "gptq": Hessian error compensation (needs `hessian`). */
  method?: QuantMethod;
  /** mse and gptq: per-input-column weights of the squared error (length K, non-negative), e.g. mean x² of calibration inputs. */
  importance?: Float32Array;
  /** gptq (required) and mse (its diagonal is the importance when none is given): XᵀX [K, K] of calibration inputs, see hessianFromActivations. */
  hessian?: Tensor;
  /** gptq only: how each group's scale is chosen from its compensated weights, "mse" (default) or "rtn". */
  groupScales?: "rtn" | "mse";
}

/** The parts of a block-type QTensor: llama.cpp blocks of `type`, K / blockSize blocks a row. */
export interface QTensorBlocks {
  dims: readonly [number, number];
  type: GGMLType;
  blocks: Uint8Array;
}

export interface QTensorParts {
  dims: readonly [number, number];
  groupSize: GroupSize;
  scheme: Scheme;
  codes: Uint8Array;
  scales: Uint16Array;
  offsets?: Uint16Array | null;
}

const QK = 32;

/** Byte and element counts of the layout for a [N, K] matrix. */
export function layoutOf(N: number, K: number, groupSize: number) {
  const chunks = Math.ceil(K / QK);
  const groups = Math.ceil(K / groupSize);
  return { codeBytes: N * chunks * (QK / 2), scaleCount: N * groups, groupsPerRow: groups };
}

function schemeCode(s: Scheme): NativeScheme {
  return s === "symmetric" ? 0 : 1;
}

function checkFiniteHalves(name: string, h: Uint16Array, perRow: number): void {
  for (let i = 0; i < h.length; i++) {
    if ((h[i] & 0x7c00) === 0x7c00) {
      const what = h[i] & 0x3ff ? "NaN" : h[i] & 0x8000 ? "-Infinity" : "Infinity";
      throw rangeError(name, "finite fp16 values", `${what} (0x${h[i].toString(16).padStart(4, "0")}) at row ${Math.floor(i / perRow)}, group ${i % perRow}`);
    }
  }
}

export class QTensor {
  /** "int4": int4's group layout (codes, scales, offsets); otherwise the llama.cpp block type it holds. */
  readonly type: "int4" | GGMLType;
  readonly dims: readonly [number, number];
  /** int4: weights per scale. A block type: its block size (32 or 256). */
  readonly groupSize: GroupSize;
  /** int4: whether groups have offsets. A block type: "asymmetric" when its blocks hold mins (Q4_1, Q4_K, ...). */
  readonly scheme: Scheme;
  #codes: Uint8Array | null = null;
  #scales: Uint16Array | null = null;
  #offsets: Uint16Array | null = null;
  #blocks: Uint8Array | null = null;
  #blockType: BlockTypeInfo | null = null;
  #native: NativeQMatrix | null = null;
  #byteLength: number;
  #hostReleased = false;

  /** `x instanceof QTensor` only for objects this class constructed (not Object.create(QTensor.prototype)). */
  static [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === "object" && v !== null && #byteLength in v;
  }

  /**
   * Wraps existing parts (checked, not copied): int4 codes/scales/offsets, or `{ dims, type, blocks }`
   * of a llama.cpp block type. Most users get a QTensor from quantize() or fromGGML().
   */
  constructor(parts: QTensorParts | QTensorBlocks) {
    if (parts === null || typeof parts !== "object") throw typeError("QTensor parts", "an object", parts);
    const dims = checkDims("QTensor dims", parts.dims);
    if (dims.length !== 2) throw rangeError("QTensor dims", "2 dimensions [N, K]", `[${dims.join(", ")}]`);
    const [N, K] = dims;
    this.dims = Object.freeze([N, K]) as readonly [number, number];
    // each part is read once: a getter cannot hand over other arrays than the ones checked
    if ("blocks" in parts) {
      const type = parts.type, blocks = parts.blocks;
      const t = BLOCK_TYPES.get(checkOneOf("type", type, BLOCK_TYPE_NAMES));
      if (!t) throw rangeError("type", `one of ${[...BLOCK_TYPES.keys()].join(", ")}`, type);
      if (!(blocks instanceof Uint8Array)) throw typeError("blocks", "a Uint8Array", blocks);
      if (K % t.blockSize !== 0) throw rangeError("dims[1] (K)", `a multiple of ${t.blockSize} for ${t.name} blocks`, K);
      const want = blockBytes(t, N, K);
      if (blocks.length !== want) throw rangeError("blocks", `${want} bytes for ${t.name} [${N}, ${K}]`, `${blocks.length} bytes`);
      // a NaN or infinite scale would turn every product of its row into NaN (as for int4 scales)
      const bad = native.firstNonFinite(t.id, blocks);
      if (bad >= 0) {
        const perRow = K / t.blockSize;
        throw rangeError("blocks", "finite scales", `a NaN or infinite scale in block ${bad % perRow} of row ${Math.floor(bad / perRow)}`);
      }
      this.type = t.name;
      this.groupSize = t.blockSize as GroupSize;
      this.scheme = t.hasMins ? "asymmetric" : "symmetric";
      this.#blocks = blocks;
      this.#blockType = t;
      this.#byteLength = blocks.byteLength;
      return;
    }
    this.type = "int4";
    const codes = parts.codes, scales = parts.scales, offsets = parts.offsets;
    this.groupSize = checkOneOf("groupSize", parts.groupSize, GROUP_SIZES);
    this.scheme = checkOneOf("scheme", parts.scheme, SCHEMES);
    const lay = layoutOf(N, K, this.groupSize);
    if (!(codes instanceof Uint8Array)) throw typeError("codes", "a Uint8Array", codes);
    if (!(scales instanceof Uint16Array)) throw typeError("scales", "a Uint16Array", scales);
    if (codes.length !== lay.codeBytes) throw rangeError("codes", `length ${lay.codeBytes}`, `length ${codes.length}`);
    if (scales.length !== lay.scaleCount) throw rangeError("scales", `length ${lay.scaleCount}`, `length ${scales.length}`);
    if (this.scheme === "asymmetric") {
      if (!(offsets instanceof Uint16Array)) throw typeError("offsets", "a Uint16Array (asymmetric scheme)", offsets);
      if (offsets.length !== lay.scaleCount) throw rangeError("offsets", `length ${lay.scaleCount}`, `length ${offsets.length}`);
    } else if (offsets != null) {
      throw typeError("offsets", "null or undefined for the symmetric scheme", offsets);
    }
    // a NaN or infinite scale (fp16 exponent bits all ones) would turn every product of its row into NaN
    checkFiniteHalves("scales", scales, lay.groupsPerRow);
    if (offsets) checkFiniteHalves("offsets", offsets, lay.groupsPerRow);
    this.#codes = codes;
    this.#scales = scales;
    this.#offsets = offsets ?? null;
    this.#byteLength = codes.byteLength + scales.byteLength + (this.#offsets?.byteLength ?? 0);
  }

  /**
   * A [N, K] matrix from llama.cpp block bytes of `type` (as a GGUF file stores them). Q4_0 and
   * Q4_1 become int4's group-32 layout (symmetric / asymmetric), bit-exactly, and run on its INT4
   * kernels; every other type is held as its blocks. Either way toGGML() gives the same bytes back.
   */
  static fromGGML(type: GGMLType, blocks: Uint8Array, dims: readonly [number, number]): QTensor {
    const t = BLOCK_TYPES.get(checkOneOf("type", type, BLOCK_TYPE_NAMES));
    if (!t) throw rangeError("type", `one of ${[...BLOCK_TYPES.keys()].join(", ")}`, type);
    if (!(blocks instanceof Uint8Array)) throw typeError("blocks", "a Uint8Array", blocks);
    const [N, K] = checkDims("dims", dims);
    if (dims.length !== 2) throw rangeError("dims", "2 dimensions [N, K]", `[${dims.join(", ")}]`);
    if (K % t.blockSize !== 0) throw rangeError("dims[1] (K)", `a multiple of ${t.blockSize} for ${type} blocks`, K);
    const want = blockBytes(t, N, K);
    if (blocks.length !== want) throw rangeError("blocks", `${want} bytes for ${type} [${N}, ${K}]`, `${blocks.length} bytes`);
    if (type !== "q4_0" && type !== "q4_1") return new QTensor({ dims: [N, K], type, blocks });
    const scheme: Scheme = type === "q4_0" ? "symmetric" : "asymmetric";
    const lay = layoutOf(N, K, 32);
    const codes = new Uint8Array(lay.codeBytes);
    const scales = new Uint16Array(lay.scaleCount);
    const offsets = scheme === "asymmetric" ? new Uint16Array(lay.scaleCount) : null;
    native.fromGGML(blocks, N, K, schemeCode(scheme), codes, scales, offsets);
    return new QTensor({ dims: [N, K], groupSize: 32, scheme, codes, scales, offsets });
  }

  get codes(): Uint8Array {
    return this.#live(this.#int4Part(this.#codes, "codes"));
  }
  get scales(): Uint16Array {
    return this.#live(this.#int4Part(this.#scales, "scales"));
  }
  get offsets(): Uint16Array | null {
    this.#live(this.#int4Part(this.#codes, "offsets"));
    return this.#offsets;
  }
  /** A block type's bytes, as GGUF stores them (the array itself, not a copy). */
  get blocks(): Uint8Array {
    if (this.#blockType === null) throw new TypeError("QTensor.blocks: an int4 QTensor holds codes and scales, not llama.cpp blocks; see toGGML()");
    return this.#live(this.#blocks);
  }
  get disposed(): boolean {
    return this.#codes === null && this.#blocks === null && !this.#hostReleased;
  }

  /** True after releaseHost(): only the native copy remains, and only matmul can use it. */
  get hostReleased(): boolean {
    return this.#hostReleased;
  }

  /** Bytes of codes, scales and offsets (int4), or of the blocks. */
  get byteLength(): number {
    if (this.disposed) throw new Error("QTensor: used after dispose()");
    return this.#byteLength;
  }

  /** Storage bits per weight, padding included: 4.5 for symmetric groups of 32, 5 for asymmetric, 4.5 for Q4_K. */
  get bitsPerWeight(): number {
    return (this.byteLength * 8) / (this.dims[0] * this.dims[1]);
  }

  /** The llama.cpp type toGGML() writes, or null (int4 with a group size other than 32, or K not a multiple of 32). */
  get ggmlType(): GGMLType | null {
    if (this.#blockType) return this.#blockType.name;
    if (this.groupSize !== 32 || this.dims[1] % QK !== 0) return null;
    return this.scheme === "symmetric" ? "q4_0" : "q4_1";
  }

  /** The float32 values the codes stand for, [N, K] (a block type's exactly as llama.cpp dequantizes them). */
  dequantize(): Tensor {
    const [N, K] = this.dims;
    const out = new Float32Array(N * K);
    if (this.#blockType) native.dequantizeGGML(this.#blockType.id, this.blocks, N, K, out);
    else native.dequantize(this.codes, this.scales, this.offsets, N, K, this.groupSize, schemeCode(this.scheme), out);
    return new Tensor(out, [N, K]);
  }

  /**
   * llama.cpp block bytes: a block type's own bytes (a copy); int4 as Q4_0 when symmetric, Q4_1
   * when asymmetric, bit-exactly (needs group size 32 and K a multiple of 32).
   */
  toGGML(): Uint8Array {
    if (this.#blockType) return this.blocks.slice();
    const type = this.ggmlType;
    const [N, K] = this.dims;
    if (this.groupSize !== 32) throw rangeError("QTensor.toGGML groupSize", "32 for llama.cpp blocks", this.groupSize);
    if (type === null) throw rangeError("QTensor.toGGML K", "a multiple of 32 for llama.cpp blocks", K);
    const out = new Uint8Array(blockBytes(BLOCK_TYPES.get(type)!, N, K));
    native.toGGML(this.codes, this.scales, this.offsets, N, K, schemeCode(this.scheme), out);
    return out;
  }

  /** @internal The native operand of matmul: a copy of the parts in native memory, made on first use. */
  nativeMatrix(): NativeQMatrix {
    if (!this.#native) {
      const [N, K] = this.dims;
      this.#native = this.#blockType
        ? new native.QMatrix(this.#blockType.id, this.blocks, N, K)
        : new native.QMatrix(this.codes, this.scales, this.offsets, N, K, this.groupSize, schemeCode(this.scheme));
    }
    return this.#native;
  }

  /**
   * Keeps only the native copy that matmul uses and drops the JavaScript arrays, halving the
   * memory of a matrix that is only multiplied (a loaded model's layers). Afterwards codes,
   * scales, offsets, blocks, dequantize() and toGGML() throw; matmul, byteLength and dispose() work.
   */
  releaseHost(): void {
    this.nativeMatrix();
    this.#codes = this.#scales = this.#offsets = null;
    this.#blocks = null;
    this.#hostReleased = true;
  }

  /** Frees the native copy and drops the parts. Matmuls already running finish normally. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = null;
    this.#codes = this.#scales = this.#offsets = null;
    this.#blocks = null;
    this.#hostReleased = false;
  }

  #int4Part<T>(v: T | null, name: string): T | null {
    if (this.#blockType) throw new TypeError(`QTensor.${name}: a ${this.#blockType.name} QTensor holds llama.cpp blocks, not codes and scales; see blocks and toGGML()`);
    return v;
  }

  #live<T>(v: T | null): T {
    if (v === null) {
      throw new Error(this.#hostReleased ? "QTensor: its JavaScript arrays were released by releaseHost(); only matmul can use it" : "QTensor: used after dispose()");
    }
    return v;
  }
}

/** Quantizes a float32 matrix w [N, K] to INT4 with round-to-nearest (llama.cpp's Q4_0 / Q4_1 rule per group). */
export function quantize(w: Tensor, options?: QuantizeOptions): QTensor {
  if (!(w instanceof Tensor)) throw typeError("quantize w", "a Tensor", w);
  if (w.dims.length !== 2) throw rangeError("quantize w", "a 2-D Tensor [N, K]", `dims [${w.dims.join(", ")}]`);
  const opts = checkOptions("quantize options", options);
  const groupSize = opts.groupSize === undefined ? 32 : checkOneOf("groupSize", opts.groupSize, GROUP_SIZES);
  const scheme = opts.scheme === undefined ? "symmetric" : checkOneOf("scheme", opts.scheme, SCHEMES);
  // a method other than rtn: src/quant/
  const known = ["groupSize", "scheme", "method", "importance", "hessian", "groupScales"];
  for (const key of Object.keys(opts)) {
    if (!known.includes(key)) throw rangeError("quantize options", known.join(", "), `option "${key}"`);
  }
  const [N, K] = w.dims;
  if (opts.method !== undefined && opts.method !== "rtn") {
    const parts = quantizeWithMethod(w, groupSize, scheme, opts);
    return new QTensor({ dims: [N, K], groupSize, scheme, ...parts });
  }
  for (const key of ["importance", "hessian", "groupScales"]) {
    if (opts[key] !== undefined) throw rangeError(`quantize options.${key}`, 'method "mse" or "gptq"', `method "rtn"`);
  }
  const lay = layoutOf(N, K, groupSize);
  const codes = new Uint8Array(lay.codeBytes);
  const scales = new Uint16Array(lay.scaleCount);
  const offsets = scheme === "asymmetric" ? new Uint16Array(lay.scaleCount) : null;
  const bad = native.quantize(w.data, N, K, groupSize, schemeCode(scheme), codes, scales, offsets);
  if (bad >= 0) {
    const row = Math.floor(bad / K);
    const col = bad % K;
    throw rangeError("quantize w", `finite values`, `${w.data[bad]} at row ${row}, column ${col}`);
  }
  return new QTensor({ dims: [N, K], groupSize, scheme, codes, scales, offsets });
}

/** The float32 values of a QTensor, [N, K]. */
export function dequantize(q: QTensor): Tensor {
  if (!(q instanceof QTensor)) throw typeError("dequantize q", "a QTensor", q);
  return q.dequantize();
}

