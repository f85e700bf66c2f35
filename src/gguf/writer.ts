// GGUF v3 writer: metadata of every value type (arrays too, nested), tensor infos, aligned tensor
// data, written atomically. Tensor types: llama.cpp's F32, F16, Q8_0, Q4_0, Q4_1, and int4's own
// extension types for the layouts llama.cpp has no type for.
//
// File layout (little-endian, as the GGUF spec and llama.cpp's gguf.cpp):
//   u32 magic "GGUF" | u32 version 3 | u64 tensor count | u64 metadata count
//   metadata: string key, u32 value type, value       (string = u64 byte length + UTF-8 bytes)
//   tensor infos: string name, u32 n_dims, u64 ne[n_dims] (innermost first), u32 type, u64 offset
//   zero padding to the alignment; tensor data, each at its offset (relative to the data
//   section, a multiple of the alignment) and zero-padded to the alignment.
// The alignment is `general.alignment` (u32, a power of two) when the metadata has it, else 32.
//
// int4 extension tensor types (README "Quantization methods"): INT4 weights [N, K] with group size
// G in {32, 64, 128, 256}, symmetric (id 1000 + G) or asymmetric (id 2000 + G):
//   each row is ceil(K / G) groups, stored one after another; a group is
//     fp16 d                       (symmetric: value = (q - 8) · d)
//     fp16 d, fp16 m               (asymmetric: value = q · d + m)
//   followed by the group's codes in 32-weight chunks of 16 bytes, llama.cpp's nibble order (byte j
//   of a chunk = weight j in the low nibble | weight j + 16 in the high nibble). When K is not a
//   multiple of 32 the row's last r = K mod 32 weights take ceil(r/2) bytes in the same manner
//   (byte j = weight j | weight j + ceil(r/2) << 4; when r is odd the last high nibble is the code
//   for zero: 8 symmetric, 0 asymmetric), so no byte is spent on padding: a 172-wide row at G = 64
//   is 92 bytes, 4.28 bits per weight. Row bytes: ceil(K/G)·(2 or 4) + ceil(K/2). With G = 32 and K a multiple of 32
//   the bytes are exactly Q4_0 (symmetric) or Q4_1 (asymmetric) blocks; the writer uses those
//   llama.cpp types then. The ids are far above GGML_TYPE_COUNT (43 in current llama.cpp) and the
//   ids forks use (100-150), so llama.cpp's GGUF reader rejects such a tensor ("has invalid ggml
//   type") instead of misreading it.
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";
import { checkDims, rangeError, typeError } from "../errors";
import { QTensor, type GroupSize, type Scheme } from "../qtensor";
import { Tensor } from "../tensor";
import { int4FormatName, parseInt4FormatName } from "../formatNames";
import { f32ToF16 } from "../quant/fp16";
import { BLOCK_TYPE_NAMES, type GGMLType } from "../blockTypes";
import { GGML_TYPES, int4RowBytes } from "./types";

// ---- value and tensor types ----

/** GGUF metadata value type ids (gguf_type). */
export const GGUF_VALUE_TYPES = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12,
} as const;
export type GGUFScalarType = Exclude<keyof typeof GGUF_VALUE_TYPES, "array">;

/** One metadata value with its GGUF type (JS numbers alone cannot say u32 from f32). */
export type GGUFValue =
  | { type: "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64"; value: number }
  | { type: "u64" | "i64"; value: bigint | number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | GGUFArray;

/** An array: items are plain values of itemType (a typed array works for numeric types), or GGUFArrays when itemType is "array". */
export interface GGUFArray {
  type: "array";
  itemType: GGUFScalarType | "array";
  value: ArrayLike<number | bigint | boolean | string | GGUFArray>;
}

const EXT_GROUPS: readonly GroupSize[] = [32, 64, 128, 256];

type Int4ExtType = `q4_g${GroupSize}_${"sym" | "asym"}`;
export type GGUFTensorType = "f32" | "f16" | GGMLType | Int4ExtType;

/** llama.cpp's type of a name, from the one table of GGUF types (./types). */
function ggmlTypeInfo(name: string) {
  const upper = name.toUpperCase();
  for (const t of GGML_TYPES.values()) if (t.name === upper) return t;
  throw new Error(`no GGUF type named ${upper}`);
}

/** Tensor type ids: llama.cpp's (ggml_type) and int4's extension (1000 + G symmetric, 2000 + G asymmetric). */
export const GGUF_TENSOR_TYPES: Readonly<Record<GGUFTensorType, number>> = Object.freeze(Object.fromEntries([
  ...(["f32", "f16", ...BLOCK_TYPE_NAMES] as const).map((n) => [n, ggmlTypeInfo(n).id]),
  ...EXT_GROUPS.flatMap((g) => [[int4FormatName(g, "symmetric"), 1000 + g], [int4FormatName(g, "asymmetric"), 2000 + g]]),
])) as Record<GGUFTensorType, number>;

/** The int4 extension type for a group size and scheme (named as the format, src/formatNames.ts). */
export function int4ExtensionType(groupSize: GroupSize, scheme: Scheme): GGUFTensorType {
  return int4FormatName(groupSize, scheme);
}

/** A tensor type by its name, or by an older spelling of an int4 extension type ("int4_g64_sym"); null otherwise. */
function tensorTypeOf(name: unknown): GGUFTensorType | null {
  if (typeof name !== "string") return null;
  if (Object.prototype.hasOwnProperty.call(GGUF_TENSOR_TYPES, name)) return name as GGUFTensorType;
  const ext = name.startsWith("int4_") ? parseInt4FormatName(name) : null;
  return ext ? int4FormatName(ext.groupSize, ext.scheme) : null;
}

/** Group size and scheme of an int4 extension type id, or null for any other id. */
export function int4ExtensionOf(typeId: number): { groupSize: GroupSize; scheme: Scheme } | null {
  const scheme: Scheme | null = typeId > 2000 ? "asymmetric" : typeId > 1000 ? "symmetric" : null;
  const g = typeId % 1000;
  if (!scheme || typeId > 3000 || !EXT_GROUPS.includes(g as GroupSize)) return null;
  return { groupSize: g as GroupSize, scheme };
}

/** Bytes of a tensor of this type and row-major dims (innermost last); throws RangeError when the shape does not fit the type. */
export function ggufTensorBytes(type: GGUFTensorType, dims: readonly number[], name = "tensor"): number {
  const K = dims[dims.length - 1];
  const rows = dims.slice(0, -1).reduce((a, b) => a * b, 1);
  const n = rows * K;
  switch (type) {
    case "f32": return 4 * n;
    case "f16": return 2 * n;
    default: {
      const id = GGUF_TENSOR_TYPES[type];
      if (id === undefined) throw rangeError(`${name} type`, "a known tensor type", type);
      const ext = int4ExtensionOf(id);
      if (!ext) {
        const t = GGML_TYPES.get(id)!;
        if (K % t.blockSize !== 0) throw rangeError(`${name} dims`, `an innermost dimension that is a multiple of ${t.blockSize} for ${type}`, `[${dims.join(", ")}]`);
        return (n / t.blockSize) * t.blockBytes;
      }
      if (dims.length !== 2) throw rangeError(`${name} dims`, `2 dimensions [N, K] for ${type}`, `[${dims.join(", ")}]`);
      return rows * int4RowBytes(K, ext.groupSize, ext.scheme);
    }
  }
}

/** Bytes of one row of K weights in an int4 extension type: the file packs a partial last chunk (no padding). */
export { int4RowBytes };

/**
 * Copies the codes of chunks [c0, c1) of a row from int4's layout (every chunk 16 bytes, a partial
 * last chunk padded) to the file layout (a partial last chunk of r weights packed in ceil(r/2)
 * bytes: byte j = weight j | weight j + ceil(r/2) << 4), or back (toFile false). Returns the file bytes.
 */
function copyChunks(mem: Uint8Array, memAt: number, file: Uint8Array, fileAt: number, c0: number, c1: number, K: number, pad: number, toFile: boolean): number {
  const full = Math.min(c1, Math.floor(K / 32)) - c0; // whole chunks
  if (full > 0) {
    if (toFile) file.set(mem.subarray(memAt, memAt + full * 16), fileAt);
    else mem.set(file.subarray(fileAt, fileAt + full * 16), memAt);
  }
  let n = Math.max(0, full) * 16;
  if (c1 * 32 > K) {
    // the partial last chunk
    const r = K % 32;
    const half = Math.ceil(r / 2);
    const m = memAt + n;
    const f = fileAt + n;
    const memCode = (i: number) => (i < 16 ? mem[m + i] & 15 : mem[m + i - 16] >> 4);
    if (toFile) {
      for (let j = 0; j < half; j++) file[f + j] = memCode(j) | ((j + half < r ? memCode(j + half) : pad) << 4);
    } else {
      mem.fill(pad | (pad << 4), m, m + 16);
      for (let i = 0; i < r; i++) {
        const b = file[f + (i < half ? i : i - half)];
        const q = i < half ? b & 15 : b >> 4;
        if (i < 16) mem[m + i] = (mem[m + i] & 0xf0) | q;
        else mem[m + i - 16] = (mem[m + i - 16] & 0x0f) | (q << 4);
      }
    }
    n += half;
  }
  return n;
}

// ---- encoders ----

/** float32 values -> little-endian F32 bytes (a copy). */
export function encodeF32(x: Float32Array): Uint8Array {
  if (!(x instanceof Float32Array)) throw typeError("encodeF32 x", "a Float32Array", x);
  const out = new Uint8Array(x.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < x.length; i++) dv.setFloat32(i * 4, x[i], true);
  return out;
}

/** float32 values -> F16 bytes, round to nearest even (as ggml's GGML_FP32_TO_FP16). */
export function encodeF16(x: Float32Array): Uint8Array {
  if (!(x instanceof Float32Array)) throw typeError("encodeF16 x", "a Float32Array", x);
  const out = new Uint8Array(x.length * 2);
  for (let i = 0; i < x.length; i++) {
    const h = f32ToF16(x[i]);
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >> 8;
  }
  return out;
}

/**
 * float32 values (length a multiple of 32) -> Q8_0 blocks of 34 bytes, exactly llama.cpp's
 * quantize_row_q8_0_ref: d = amax / 127, id = 1/d (0 when d = 0), q = roundf(x · id) (half away
 * from zero), d stored fp16. Float32 arithmetic is emulated with Math.fround.
 */
export function encodeQ8_0(x: Float32Array): Uint8Array {
  if (!(x instanceof Float32Array)) throw typeError("encodeQ8_0 x", "a Float32Array", x);
  if (x.length % 32 !== 0) throw rangeError("encodeQ8_0 x", "a length that is a multiple of 32", `length ${x.length}`);
  const f = Math.fround;
  const nb = x.length / 32;
  const out = new Uint8Array(nb * 34);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
    const d = f(amax / 127);
    const id = d ? f(1 / d) : 0;
    const h = f32ToF16(d);
    out[b * 34] = h & 0xff;
    out[b * 34 + 1] = h >> 8;
    for (let j = 0; j < 32; j++) {
      const v = f(x[b * 32 + j] * id);
      const q = Math.sign(v) * Math.floor(Math.abs(v) + 0.5); // roundf: exact for floats in double
      out[b * 34 + 2 + j] = q & 0xff;
    }
  }
  return out;
}

/** A QTensor in the int4 extension layout of its group size and scheme (see the file comment). */
export function encodeInt4(q: QTensor): Uint8Array {
  if (!(q instanceof QTensor)) throw typeError("encodeInt4 q", "a QTensor", q);
  const [N, K] = q.dims;
  const G = q.groupSize;
  const sym = q.scheme === "symmetric";
  const groups = Math.ceil(K / G);
  const chunks = Math.ceil(K / 32);
  const rowBytes = int4RowBytes(K, G, q.scheme);
  const pad = sym ? 8 : 0;
  const out = new Uint8Array(N * rowBytes);
  const { codes, scales } = q;
  const offsets = q.offsets;
  let o = 0;
  for (let r = 0; r < N; r++) {
    for (let g = 0; g < groups; g++) {
      const d = scales[r * groups + g];
      out[o++] = d & 0xff;
      out[o++] = d >> 8;
      if (!sym) {
        const m = offsets![r * groups + g];
        out[o++] = m & 0xff;
        out[o++] = m >> 8;
      }
      const c0 = (g * G) / 32;
      const c1 = Math.min(chunks, ((g + 1) * G) / 32);
      o += copyChunks(codes, (r * chunks + c0) * 16, out, o, c0, c1, K, pad, true);
    }
  }
  return out;
}

/** The inverse of encodeInt4: bytes of an int4 extension type id -> QTensor [N, K] (for the reader). */
export function decodeInt4(typeId: number, bytes: Uint8Array, dims: readonly [number, number]): QTensor {
  const ext = int4ExtensionOf(typeId);
  if (!ext) throw rangeError("decodeInt4 type", "an int4 extension type id (1000 + G or 2000 + G)", typeId);
  if (!(bytes instanceof Uint8Array)) throw typeError("decodeInt4 bytes", "a Uint8Array", bytes);
  const [N, K] = checkDims("decodeInt4 dims", dims);
  const { groupSize: G, scheme } = ext;
  const sym = scheme === "symmetric";
  const rowBytes = int4RowBytes(K, G, scheme);
  if (bytes.length !== N * rowBytes) throw rangeError("decodeInt4 bytes", `${N * rowBytes} bytes for [${N}, ${K}]`, `${bytes.length} bytes`);
  const groups = Math.ceil(K / G);
  const chunks = Math.ceil(K / 32);
  const pad = sym ? 8 : 0;
  const codes = new Uint8Array(N * chunks * 16);
  const scales = new Uint16Array(N * groups);
  const offsets = sym ? null : new Uint16Array(N * groups);
  let o = 0;
  for (let r = 0; r < N; r++) {
    for (let g = 0; g < groups; g++) {
      scales[r * groups + g] = bytes[o] | (bytes[o + 1] << 8);
      o += 2;
      if (offsets) {
        offsets[r * groups + g] = bytes[o] | (bytes[o + 1] << 8);
        o += 2;
      }
      const c0 = (g * G) / 32;
      const c1 = Math.min(chunks, ((g + 1) * G) / 32);
      o += copyChunks(codes, (r * chunks + c0) * 16, bytes, o, c0, c1, K, pad, false);
    }
  }
  return new QTensor({ dims: [N, K], groupSize: G, scheme, codes, scales, offsets });
}

// ---- the file ----

/** A tensor to write. `dims` are row-major as everywhere in int4 ([N, K]: K innermost); GGUF stores them reversed. */
export interface GGUFTensorSpec {
  name: string;
  type: GGUFTensorType;
  dims: readonly number[];
  /** The bytes, or a function giving them when the writer reaches this tensor (keeps memory to one tensor at a time). */
  data: Uint8Array | (() => Uint8Array | Promise<Uint8Array>);
}

export interface GGUFContent {
  /** Key -> typed value, written in this order. */
  metadata: Record<string, GGUFValue> | ReadonlyArray<readonly [string, GGUFValue]>;
  tensors: readonly GGUFTensorSpec[];
}

/** A tensor spec for a QTensor: Q4_0 / Q4_1 when llama.cpp has the layout (group 32, K a multiple of 32), else the int4 extension type. */
export function ggufTensorFromQTensor(name: string, q: QTensor): GGUFTensorSpec {
  if (!(q instanceof QTensor)) throw typeError("ggufTensorFromQTensor q", "a QTensor", q);
  const ggml = q.ggmlType;
  if (ggml) return { name, type: ggml, dims: q.dims, data: () => q.toGGML() };
  return { name, type: int4ExtensionType(q.groupSize, q.scheme), dims: q.dims, data: () => encodeInt4(q) };
}

/** A tensor spec for a float tensor stored as F32, F16 or Q8_0. */
export function ggufTensorFromFloat(name: string, t: Tensor, type: "f32" | "f16" | "q8_0"): GGUFTensorSpec {
  if (!(t instanceof Tensor)) throw typeError("ggufTensorFromFloat t", "a Tensor", t);
  const enc = type === "f32" ? encodeF32 : type === "f16" ? encodeF16 : type === "q8_0" ? encodeQ8_0 : null;
  if (!enc) throw rangeError("ggufTensorFromFloat type", '"f32", "f16" or "q8_0"', String(type));
  ggufTensorBytes(type, t.dims, name); // shape check now, not at write time
  return { name, type, dims: t.dims, data: () => enc(t.data) };
}

const INT_RANGES: Record<string, [number, number]> = {
  u8: [0, 0xff], i8: [-0x80, 0x7f], u16: [0, 0xffff], i16: [-0x8000, 0x7fff], u32: [0, 0xffffffff], i32: [-0x80000000, 0x7fffffff],
};
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const MAX_NAME_BYTES = 63; // GGML_MAX_NAME (64) including the terminating NUL

/** A growing little-endian byte buffer for the header. */
class Bytes {
  buf = new Uint8Array(1 << 16);
  dv = new DataView(this.buf.buffer);
  n = 0;
  private room(k: number) {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + k) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }
  u8(v: number) { this.room(1); this.dv.setUint8(this.n, v); this.n += 1; }
  i8(v: number) { this.room(1); this.dv.setInt8(this.n, v); this.n += 1; }
  u16(v: number) { this.room(2); this.dv.setUint16(this.n, v, true); this.n += 2; }
  i16(v: number) { this.room(2); this.dv.setInt16(this.n, v, true); this.n += 2; }
  u32(v: number) { this.room(4); this.dv.setUint32(this.n, v, true); this.n += 4; }
  i32(v: number) { this.room(4); this.dv.setInt32(this.n, v, true); this.n += 4; }
  f32(v: number) { this.room(4); this.dv.setFloat32(this.n, v, true); this.n += 4; }
  f64(v: number) { this.room(8); this.dv.setFloat64(this.n, v, true); this.n += 8; }
  u64(v: bigint) { this.room(8); this.dv.setBigUint64(this.n, v, true); this.n += 8; }
  i64(v: bigint) { this.room(8); this.dv.setBigInt64(this.n, v, true); this.n += 8; }
  raw(b: Uint8Array) { this.room(b.length); this.buf.set(b, this.n); this.n += b.length; }
  str(s: string) { const b = Buffer.from(s, "utf8"); this.u64(BigInt(b.length)); this.raw(b); }
  bytes() { return this.buf.subarray(0, this.n); }
}

function writeScalar(out: Bytes, type: GGUFScalarType, v: unknown, name: string): void {
  switch (type) {
    case "u8": case "i8": case "u16": case "i16": case "u32": case "i32": {
      const [lo, hi] = INT_RANGES[type];
      if (typeof v !== "number") throw typeError(name, `a number (${type})`, v);
      if (!Number.isInteger(v) || v < lo || v > hi) throw rangeError(name, `an integer in [${lo}, ${hi}] (${type})`, v);
      out[type](v);
      return;
    }
    case "u64": case "i64": {
      if (typeof v !== "bigint" && typeof v !== "number") throw typeError(name, `a bigint or integer (${type})`, v);
      if (typeof v === "number" && !Number.isSafeInteger(v)) throw rangeError(name, `a safe integer or a bigint (${type})`, v);
      const b = BigInt(v);
      if (type === "u64" ? b < 0n || b > U64_MAX : b < I64_MIN || b > I64_MAX) throw rangeError(name, `a value in the ${type} range`, String(v));
      out[type](b);
      return;
    }
    case "f32": case "f64":
      if (typeof v !== "number") throw typeError(name, `a number (${type})`, v);
      out[type](v);
      return;
    case "bool":
      if (typeof v !== "boolean") throw typeError(name, "a boolean", v);
      out.u8(v ? 1 : 0);
      return;
    case "string":
      if (typeof v !== "string") throw typeError(name, "a string", v);
      out.str(v);
      return;
    default:
      throw rangeError(name, `a GGUF value type (${Object.keys(GGUF_VALUE_TYPES).join(", ")})`, String(type));
  }
}

function isTypeName(t: unknown): t is keyof typeof GGUF_VALUE_TYPES {
  return typeof t === "string" && Object.prototype.hasOwnProperty.call(GGUF_VALUE_TYPES, t);
}

function writeArrayBody(out: Bytes, a: unknown, name: string, depth: number): void {
  if (a === null || typeof a !== "object") throw typeError(name, "a GGUF array { type: \"array\", itemType, value }", a);
  const { itemType, value } = a as GGUFArray;
  if (!isTypeName(itemType)) throw rangeError(`${name}.itemType`, `a GGUF value type`, typeof itemType === "string" ? `"${itemType}"` : itemType);
  if (value === null || typeof value !== "object" || typeof (value as ArrayLike<unknown>).length !== "number") throw typeError(`${name}.value`, "an array or typed array", value);
  if (depth > 8) throw rangeError(name, "arrays nested at most 8 deep", `depth ${depth}`);
  out.u32(GGUF_VALUE_TYPES[itemType]);
  out.u64(BigInt(value.length));
  for (let i = 0; i < value.length; i++) {
    if (itemType === "array") writeArrayBody(out, value[i], `${name}[${i}]`, depth + 1);
    else writeScalar(out, itemType, value[i], `${name}[${i}]`);
  }
}

function writeValue(out: Bytes, v: GGUFValue, name: string): void {
  if (v === null || typeof v !== "object") throw typeError(name, "a typed GGUF value { type, value }", v);
  const t: unknown = v.type;
  if (!isTypeName(t)) throw rangeError(`${name}.type`, `a GGUF value type (${Object.keys(GGUF_VALUE_TYPES).join(", ")})`, typeof t === "string" ? `"${t}"` : t);
  out.u32(GGUF_VALUE_TYPES[v.type]);
  if (v.type === "array") writeArrayBody(out, v, name, 0);
  else writeScalar(out, v.type, v.value, name);
}

interface Planned {
  spec: GGUFTensorSpec;
  bytes: number;
  offset: number;
}

/** Header bytes, the alignment and the tensors' places: everything is checked before the file is touched. */
export function planGGUF(content: GGUFContent): { header: Uint8Array; alignment: number; tensors: Planned[]; dataStart: number; fileBytes: number } {
  if (content === null || typeof content !== "object") throw typeError("GGUF content", "{ metadata, tensors }", content);
  const md = content.metadata;
  if (md === null || typeof md !== "object") throw typeError("GGUF metadata", "an object or an array of [key, value]", md);
  const entries: ReadonlyArray<readonly [string, GGUFValue]> = Array.isArray(md) ? md : Object.entries(md);
  if (!Array.isArray(content.tensors)) throw typeError("GGUF tensors", "an array of tensor specs", content.tensors);
  const out = new Bytes();
  out.raw(Buffer.from("GGUF", "latin1"));
  out.u32(3);
  out.u64(BigInt(content.tensors.length));
  out.u64(BigInt(entries.length));
  const seen = new Set<string>();
  let alignment = 32;
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 2) throw typeError("GGUF metadata entry", "a [key, value] pair", entry);
    const [key, v] = entry;
    if (typeof key !== "string" || key.length === 0) throw typeError("GGUF metadata key", "a non-empty string", key);
    if (Buffer.byteLength(key, "utf8") > 65535) throw rangeError(`GGUF metadata key`, "at most 65535 bytes", `${Buffer.byteLength(key)} bytes`);
    if (seen.has(key)) throw rangeError("GGUF metadata key", "unique keys", `"${key}" twice`);
    seen.add(key);
    if (key === "general.alignment") {
      const a = (v as { value: unknown }).value;
      if (v?.type !== "u32" || typeof a !== "number" || a < 1 || a > 0x40000000 || (a & (a - 1)) !== 0) {
        throw rangeError("general.alignment", "a u32 power of two", v?.type === "u32" ? String(a) : `type ${String(v?.type)}`);
      }
      alignment = a;
    }
    out.str(key);
    writeValue(out, v, `metadata "${key}"`);
  }
  const names = new Set<string>();
  const tensors: Planned[] = [];
  let offset = 0;
  for (const [i, spec] of content.tensors.entries()) {
    const label = `tensors[${i}]`;
    if (spec === null || typeof spec !== "object") throw typeError(label, "a tensor spec { name, type, dims, data }", spec);
    if (typeof spec.name !== "string" || spec.name.length === 0) throw typeError(`${label}.name`, "a non-empty string", spec.name);
    if (Buffer.byteLength(spec.name, "utf8") > MAX_NAME_BYTES) throw rangeError(`${label}.name`, `at most ${MAX_NAME_BYTES} bytes (llama.cpp's GGML_MAX_NAME)`, `"${spec.name}"`);
    if (names.has(spec.name)) throw rangeError(`${label}.name`, "unique tensor names", `"${spec.name}" twice`);
    names.add(spec.name);
    const type = tensorTypeOf(spec.type);
    if (type === null) {
      throw rangeError(`tensor "${spec.name}" type`, `one of ${Object.keys(GGUF_TENSOR_TYPES).join(", ")}`, typeof spec.type === "string" ? `"${spec.type}"` : (spec.type as unknown));
    }
    const dims = checkDims(`tensor "${spec.name}" dims`, spec.dims);
    if (dims.length > 4) throw rangeError(`tensor "${spec.name}" dims`, "at most 4 dimensions", `[${dims.join(", ")}]`);
    if (typeof spec.data !== "function" && !(spec.data instanceof Uint8Array)) throw typeError(`tensor "${spec.name}" data`, "a Uint8Array or a function returning one", spec.data);
    const bytes = ggufTensorBytes(type, dims, `tensor "${spec.name}"`);
    if (spec.data instanceof Uint8Array && spec.data.length !== bytes) throw rangeError(`tensor "${spec.name}" data`, `${bytes} bytes for ${spec.type} [${dims.join(", ")}]`, `${spec.data.length} bytes`);
    out.str(spec.name);
    out.u32(dims.length);
    for (let d = dims.length - 1; d >= 0; d--) out.u64(BigInt(dims[d]));
    out.u32(GGUF_TENSOR_TYPES[type]);
    out.u64(BigInt(offset));
    tensors.push({ spec, bytes, offset });
    offset += align(bytes, alignment);
  }
  const header = out.bytes();
  const dataStart = align(header.length, alignment);
  return { header, alignment, tensors, dataStart, fileBytes: dataStart + offset };
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Whether a process with this id runs (on this machine). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // exists, but is another user's
  }
}

/**
 * Removes what an earlier writeGGUF of the same target left when its process was killed: its
 * temporary files `.<name>.<pid>.<hex>.tmp`, whose process no longer runs. Another live writer's
 * temporary file is left alone.
 */
async function removeStaleTemporaries(dir: string, name: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fsp.readdir(dir);
  } catch {
    return; // the open below reports a missing or unreadable directory
  }
  const prefix = `.${name}.`;
  for (const e of entries) {
    if (!e.startsWith(prefix) || !e.endsWith(".tmp")) continue;
    const m = /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(e.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    await fsp.unlink(path.join(dir, e)).catch(() => undefined);
  }
}

/**
 * Writes a GGUF v3 file atomically: everything is checked first, then written to a temporary file
 * in the target's directory, fsynced, and renamed over the target (then the directory is fsynced).
 * On any error (a tensor data function throwing, a wrong byte count, a full disk) the temporary
 * file is removed and an existing target is left untouched. Resolves to the file's byte size.
 */
export async function writeGGUF(file: string, content: GGUFContent): Promise<number> {
  if (typeof file !== "string" || file.length === 0) throw typeError("writeGGUF file", "a path string", file);
  const plan = planGGUF(content);
  const target = path.resolve(file);
  const dir = path.dirname(target);
  await removeStaleTemporaries(dir, path.basename(target));
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const zeros = new Uint8Array(plan.alignment);
  let fh: FileHandle | null = null;
  try {
    fh = await fsp.open(tmp, "wx", 0o644);
    let pos = 0;
    const put = async (b: Uint8Array) => {
      let done = 0;
      while (done < b.length) {
        const { bytesWritten } = await fh!.write(b, done, b.length - done, pos);
        done += bytesWritten;
        pos += bytesWritten;
      }
    };
    await put(plan.header);
    await put(zeros.subarray(0, plan.dataStart - plan.header.length));
    for (const t of plan.tensors) {
      const data = typeof t.spec.data === "function" ? await t.spec.data() : t.spec.data;
      if (!(data instanceof Uint8Array)) throw typeError(`tensor "${t.spec.name}" data`, "a Uint8Array from its data function", data);
      if (data.length !== t.bytes) throw rangeError(`tensor "${t.spec.name}" data`, `${t.bytes} bytes for ${t.spec.type} [${t.spec.dims.join(", ")}]`, `${data.length} bytes`);
      await put(data);
      await put(zeros.subarray(0, align(t.bytes, plan.alignment) - t.bytes));
    }
    await fh.sync();
    await fh.close();
    fh = null;
    await fsp.rename(tmp, target);
  } catch (err) {
    if (fh) await fh.close().catch(() => undefined);
    await fsp.unlink(tmp).catch(() => undefined);
    throw err;
  }
  // make the rename itself durable (best effort: not every file system lets a directory be fsynced)
  try {
    const d = await fsp.open(dir, "r");
    await d.sync().catch(() => undefined);
    await d.close();
  } catch {
    /* ignore */
  }
  return plan.fileBytes;
}
