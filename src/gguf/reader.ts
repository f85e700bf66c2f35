// GGUF reader (v2 and v3; the format of llama.cpp, spec: ggml/docs/gguf.md).
//
//   header:  magic "GGUF", u32 version, u64 tensor_count, u64 kv_count      (little-endian)
//   kv:      string key, u32 value type, value           (string = u64 length + UTF-8 bytes)
//   tensor:  string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset
//   data:    at the first multiple of general.alignment (default 32) after the tensor infos;
//            each tensor's offset is relative to it and a multiple of the alignment.
//
// Every count and length is checked against the bytes left in the file before anything is
// allocated, so a hostile file can neither crash the process nor make it allocate gigabytes.
// The file is read through a small window of fs reads; tensor data are read on request, one
// tensor at a time (or viewed without copying when the source is already a buffer).
import * as fs from "node:fs";
import { GGML_TYPES, GGUFValueType, type GGMLTypeInfo } from "./types";

export type GGUFScalar = number | bigint | boolean | string;
export type GGUFValue = GGUFScalar | GGUFArray;
export type GGUFNumericArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array |
  Float32Array | Float64Array | BigUint64Array | BigInt64Array;
export interface GGUFArray {
  /** Element type (GGUFValueType). */
  type: number;
  /** Numbers (and bools, as 0/1) come as a typed array: its memory is no larger than the file's bytes. */
  values: GGUFValue[] | GGUFNumericArray;
}

export interface GGUFTensorInfo {
  name: string;
  /** ggml order: ne[0] is the contiguous dimension (the row length K of a weight matrix). */
  ne: number[];
  type: GGMLTypeInfo;
  /** Byte offset in the file (data section start + the tensor's offset). */
  fileOffset: number;
  byteLength: number;
  elements: number;
}

/**
 * A metadata value as it may appear in a message: strings cut to 80 characters and escaped
 * (control characters never reach a terminal), arrays by their element count, big integers as
 * such. Any value a file holds goes into an error message through this.
 */
export function valueText(v: GGUFValue | undefined): string {
  if (v === undefined) return "nothing";
  if (typeof v === "string") {
    const cut = v.length > 80 ? v.slice(0, 80) : v;
    const esc = escapeControls(JSON.stringify(cut)); // JSON escapes C0, quotes and backslashes; the rest here
    return `string ${esc}${v.length > 80 ? ` (${v.length} characters, cut)` : ""}`;
  }
  if (typeof v === "bigint") return `integer ${v}`;
  if (typeof v === "number") return `number ${v}`;
  if (typeof v === "boolean") return `bool ${v}`;
  return `array of ${v.values.length} ${VALUE_TYPE_NAMES[v.type] ?? "values"}`;
}

/** Text with its control characters (C0, DEL, C1, line separators) written as \\uXXXX escapes. */
export function escapeControls(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A key or tensor name in a message: quoted, escaped, cut to 80 characters. */
export function q(name: string): string {
  return valueText(name).slice("string ".length);
}

const VALUE_TYPE_NAMES: Record<number, string> = {
  0: "uint8", 1: "int8", 2: "uint16", 3: "int16", 4: "uint32", 5: "int32", 6: "float32", 7: "bool", 8: "strings",
  9: "arrays", 10: "uint64", 11: "int64", 12: "float64",
};

/** Thrown for any malformed or unsupported GGUF content. */
export class GGUFError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GGUFError";
  }
}

interface Source {
  size: number;
  read(pos: number, len: number): Uint8Array;
  close(): void;
}

function bufferSource(buf: Uint8Array): Source {
  return { size: buf.length, read: (pos, len) => buf.subarray(pos, pos + len), close() {} };
}

function fileSource(path: string): Source {
  let fd: number | null = fs.openSync(path, "r");
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw new Error(st.isDirectory() ? "it is a directory, not a file" : "it is not a regular file");
  }
  const size = st.size;
  return {
    size,
    read(pos, len) {
      if (fd === null) throw new Error("GGUF: file already closed");
      const out = new Uint8Array(len);
      let done = 0;
      while (done < len) {
        const n = fs.readSync(fd, out, done, len - done, pos + done);
        if (n === 0) throw new GGUFError(`GGUF ${path}: file shrank while reading (offset ${pos + done})`);
        done += n;
      }
      return out;
    },
    close() {
      if (fd !== null) fs.closeSync(fd);
      fd = null;
    },
  };
}

const WINDOW = 1 << 20;
// bytes per array element in the file (strings and arrays: at least their 8-byte length)
const ELEM_BYTES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 8, 9: 12, 10: 8, 11: 8, 12: 8 };
type TypedCtor = new (n: number) => GGUFNumericArray;
const TYPED: Record<number, TypedCtor> = {
  0: Uint8Array, 1: Int8Array, 2: Uint16Array, 3: Int16Array, 4: Uint32Array, 5: Int32Array, 6: Float32Array,
  7: Uint8Array, 10: BigUint64Array, 11: BigInt64Array, 12: Float64Array,
};
const MAX_DIMS = 4; // GGML_MAX_DIMS
const MAX_ARRAY_DEPTH = 8;
// What the metadata's JavaScript objects may take, estimated as they are made: a string its
// characters plus 32 bytes, an array (an object and its element list) 256 bytes plus 8 per element,
// a typed array 256 plus its bytes (measured: 2 million empty arrays took 495 MiB). A 152k-token vocabulary with its merges takes about 20 MiB; a
// file of millions of empty arrays would take gigabytes from a few tens of MiB on disk.
const METADATA_BUDGET = 512 * 2 ** 20;

/** A forward reader over a Source through a window of bytes; every read is bounds-checked first. */
class Cursor {
  pos = 0;
  /** Estimated bytes of the JavaScript values made so far (see METADATA_BUDGET). */
  cost = 0;
  #win: Uint8Array = new Uint8Array(0);
  #winPos = 0;
  #view: DataView = new DataView(new ArrayBuffer(0));
  constructor(readonly src: Source, readonly label: string) {}

  fail(what: string): never {
    throw new GGUFError(`GGUF ${this.label}: ${what}`);
  }

  charge(bytes: number, what: string): void {
    this.cost += bytes;
    if (this.cost > METADATA_BUDGET) {
      this.fail(`${what}: the metadata would take more than ${METADATA_BUDGET / 2 ** 20} MiB of memory as JavaScript values (at offset ${this.pos} of ${this.src.size} bytes)`);
    }
  }

  /** Makes [pos, pos+n) available in the window and returns its offset in the window. */
  #need(n: number, what: string): number {
    if (this.pos + n > this.src.size) this.fail(`truncated: ${what} at offset ${this.pos} needs ${n} bytes, the file has ${this.src.size}`);
    let off = this.pos - this.#winPos;
    if (off < 0 || off + n > this.#win.length) {
      this.#win = this.src.read(this.pos, Math.min(Math.max(n, WINDOW), this.src.size - this.pos));
      this.#winPos = this.pos;
      this.#view = new DataView(this.#win.buffer, this.#win.byteOffset, this.#win.byteLength);
      off = 0;
    }
    return off;
  }

  u8(what: string): number {
    const o = this.#need(1, what);
    this.pos += 1;
    return this.#view.getUint8(o);
  }
  u32(what: string): number {
    const o = this.#need(4, what);
    this.pos += 4;
    return this.#view.getUint32(o, true);
  }
  /** A u64 that must be a safe integer (counts, lengths, offsets, dims). */
  u64n(what: string): number {
    const v = this.u64(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} ${v} is too large`);
    return Number(v);
  }
  u64(what: string): bigint {
    const o = this.#need(8, what);
    this.pos += 8;
    return this.#view.getBigUint64(o, true);
  }
  scalar(type: number, what: string): GGUFScalar {
    const sizes: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
    const n = sizes[type];
    if (n === undefined) this.fail(`${what}: unknown value type ${type}`);
    const o = this.#need(n, what);
    this.pos += n;
    const v = this.#view;
    switch (type) {
      case GGUFValueType.UINT8: return v.getUint8(o);
      case GGUFValueType.INT8: return v.getInt8(o);
      case GGUFValueType.UINT16: return v.getUint16(o, true);
      case GGUFValueType.INT16: return v.getInt16(o, true);
      case GGUFValueType.UINT32: return v.getUint32(o, true);
      case GGUFValueType.INT32: return v.getInt32(o, true);
      case GGUFValueType.FLOAT32: return v.getFloat32(o, true);
      case GGUFValueType.BOOL: {
        const b = v.getUint8(o);
        if (b > 1) this.fail(`${what}: bool value ${b} is neither 0 nor 1`);
        return b === 1;
      }
      case GGUFValueType.UINT64: {
        const x = v.getBigUint64(o, true);
        return x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
      }
      case GGUFValueType.INT64: {
        const x = v.getBigInt64(o, true);
        return x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(x) : x;
      }
      default: return v.getFloat64(o, true);
    }
  }
  string(what: string): string {
    const len = this.u64n(`${what} length`);
    if (len > this.src.size - this.pos) this.fail(`${what}: string length ${len} runs past the end of the file (${this.src.size - this.pos} bytes left at offset ${this.pos})`);
    this.charge(32 + len, what);
    const o = this.#need(len, what);
    this.pos += len;
    return Buffer.from(this.#win.buffer, this.#win.byteOffset + o, len).toString("utf8");
  }
  value(type: number, what: string, depth = 0): GGUFValue {
    if (type === GGUFValueType.STRING) return this.string(what);
    if (type !== GGUFValueType.ARRAY) return this.scalar(type, what);
    if (depth >= MAX_ARRAY_DEPTH) this.fail(`${what}: arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
    const elemType = this.u32(`${what} array type`);
    const count = this.u64n(`${what} array length`);
    // the smallest element is 1 byte (8 for strings and arrays: their own length field)
    const minBytes = ELEM_BYTES[elemType];
    if (minBytes === undefined) this.fail(`${what}: unknown array element type ${elemType}`);
    if (count * minBytes > this.src.size - this.pos) {
      this.fail(`${what}: array of ${count} elements cannot fit in the ${this.src.size - this.pos} bytes left at offset ${this.pos}`);
    }
    const Typed = TYPED[elemType];
    this.charge(256 + count * (Typed ? minBytes : 8), what);
    if (Typed) {
      const arr = new Typed(count);
      for (let i = 0; i < count; i++) {
        const v = this.scalar(elemType, what);
        arr[i] = (elemType === 10 || elemType === 11 ? BigInt(v as number | bigint) : typeof v === "boolean" ? Number(v) : v) as never;
      }
      return { type: elemType, values: arr };
    }
    const values: GGUFValue[] = new Array(count);
    for (let i = 0; i < count; i++) values[i] = this.value(elemType, what, depth + 1);
    return { type: elemType, values };
  }
}

export interface GGUFFile {
  readonly path: string;
  readonly version: number;
  readonly fileSize: number;
  readonly alignment: number;
  readonly dataOffset: number;
  readonly metadata: ReadonlyMap<string, GGUFValue>;
  /** The GGUF value type (GGUFValueType) of each metadata key (for copying metadata exactly). */
  readonly metadataTypes: ReadonlyMap<string, number>;
  readonly tensors: readonly GGUFTensorInfo[];
  tensor(name: string): GGUFTensorInfo | undefined;
  /** A metadata value as stored, or undefined. */
  get(key: string): GGUFValue | undefined;
  /** The metadata value of `key` when it has that kind, undefined when absent; any other kind is a GGUFError naming the key. */
  string(key: string): string | undefined;
  number(key: string): number | undefined;
  bool(key: string): boolean | undefined;
  array(key: string): GGUFArray | undefined;
  /** The tensor's bytes (a fresh copy read from the file, or a view of the source buffer). */
  readTensorBytes(t: GGUFTensorInfo): Uint8Array;
  close(): void;
}

/**
 * Opens a GGUF file (a path, or the bytes of one) and reads its header, metadata and tensor
 * table. Tensor data stay on disk until readTensorBytes().
 */
export function openGGUF(source: string | Uint8Array): GGUFFile {
  const label = typeof source === "string" ? source : `(buffer of ${source.length} bytes)`;
  let src: Source;
  if (typeof source === "string") {
    try {
      src = fileSource(source);
    } catch (e) {
      throw new GGUFError(`GGUF ${label}: cannot open: ${(e as Error).message}`);
    }
  } else if (source instanceof Uint8Array) {
    src = bufferSource(source);
  } else {
    throw new TypeError(`openGGUF source: expected a path string or a Uint8Array`);
  }
  try {
    return parse(src, label);
  } catch (e) {
    src.close();
    throw e;
  }
}

function parse(src: Source, label: string): GGUFFile {
  const c: Cursor = new Cursor(src, label);
  const magic = c.u32("magic");
  if (magic !== 0x46554747) {
    const bytes = [magic & 255, (magic >> 8) & 255, (magic >> 16) & 255, (magic >>> 24) & 255];
    c.fail(`not a GGUF file: expected magic "GGUF", got ${escapeControls(JSON.stringify(String.fromCharCode(...bytes)))} (0x${bytes.map((b) => b.toString(16).padStart(2, "0")).join("")})`);
  }
  const version = c.u32("version");
  if (version === 0x02000000 || version === 0x03000000) c.fail(`big-endian GGUF files are not supported (version ${version >>> 24}, byte-swapped)`);
  if (version !== 2 && version !== 3) c.fail(`unsupported GGUF version ${version} (supported: 2, 3)`);
  const tensorCount = c.u64n("tensor count");
  const kvCount = c.u64n("metadata count");
  // each kv takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least 8 + 4 + 4 + 8
  if (kvCount * 13 > src.size - c.pos) c.fail(`metadata count ${kvCount} cannot fit in a file of ${src.size} bytes`);
  if (tensorCount * 24 > src.size - c.pos) c.fail(`tensor count ${tensorCount} cannot fit in a file of ${src.size} bytes`);

  const metadata = new Map<string, GGUFValue>();
  const metadataTypes = new Map<string, number>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.string(`metadata key #${i}`);
    if (metadata.has(key)) c.fail(`duplicate metadata key ${q(key)}`);
    const type = c.u32(`metadata ${q(key)} type`);
    metadata.set(key, c.value(type, `metadata ${q(key)}`));
    metadataTypes.set(key, type);
  }

  let alignment = 32;
  const al = metadata.get("general.alignment");
  if (al !== undefined) {
    if (typeof al !== "number" || !Number.isInteger(al) || al < 1 || al > 1 << 20 || (al & (al - 1)) !== 0) {
      c.fail(`general.alignment: expected a power of two, got ${typeof al === "number" ? al : valueText(al)}`);
    }
    alignment = al as number;
  }

  interface Raw { name: string; ne: number[]; type: GGMLTypeInfo; offset: number }
  const raws: Raw[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string(`tensor #${i} name`);
    if (Buffer.byteLength(name) >= 64) c.fail(`tensor #${i} name ${q(name)}: longer than 63 bytes (ggml's GGML_MAX_NAME)`);
    if (names.has(name)) c.fail(`duplicate tensor name ${q(name)}`);
    names.add(name);
    const nDims = c.u32(`tensor ${q(name)} dimension count`);
    if (nDims < 1 || nDims > MAX_DIMS) c.fail(`tensor ${q(name)}: ${nDims} dimensions (expected 1 to ${MAX_DIMS})`);
    const ne: number[] = [];
    for (let d = 0; d < nDims; d++) {
      const n = c.u64n(`tensor ${q(name)} dimension ${d}`);
      if (n < 1) c.fail(`tensor ${q(name)}: dimension ${d} is ${n}`);
      ne.push(n);
    }
    const typeId = c.u32(`tensor ${q(name)} type`);
    const type = GGML_TYPES.get(typeId);
    if (!type) c.fail(`tensor ${q(name)}: unknown ggml type id ${typeId}`);
    const offset = c.u64n(`tensor ${q(name)} offset`);
    raws.push({ name, ne, type, offset });
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  if (tensorCount > 0 && dataOffset > src.size) c.fail(`truncated: tensor data would start at ${dataOffset}, past the end of the file (${src.size} bytes)`);

  const tensors: GGUFTensorInfo[] = raws.map(({ name, ne, type, offset }) => {
    let elements = 1;
    for (const n of ne) {
      elements *= n;
      if (elements > 2 ** 50) c.fail(`tensor ${q(name)}: shape [${ne.join(", ")}] is too large`);
    }
    if (ne[0] % type.blockSize !== 0) c.fail(`tensor ${q(name)}: row length ${ne[0]} is not a multiple of ${type.name}'s block size ${type.blockSize}`);
    // int4 extension types are laid out per row (src/gguf/types.ts)
    const byteLength = type.rowBytes ? (elements / ne[0]) * type.rowBytes(ne[0]) : (elements / type.blockSize) * type.blockBytes;
    if (offset % alignment !== 0) c.fail(`tensor ${q(name)}: data offset ${offset} is not a multiple of the alignment ${alignment}`);
    const fileOffset = dataOffset + offset;
    if (fileOffset + byteLength > src.size) {
      c.fail(`tensor ${q(name)}: data [${fileOffset}, ${fileOffset + byteLength}) runs past the end of the file (${src.size} bytes)`);
    }
    return { name, ne, type, fileOffset, byteLength, elements };
  });
  // Each tensor's bytes belong to it alone (llama.cpp even requires them in order, one after the
  // other): tensors sharing bytes would let a small file stand for any amount of memory.
  const byStart = tensors.filter((t) => t.byteLength > 0).sort((a, b) => a.fileOffset - b.fileOffset);
  for (let i = 1; i < byStart.length; i++) {
    const a = byStart[i - 1], b = byStart[i];
    if (b.fileOffset < a.fileOffset + a.byteLength) {
      c.fail(`tensor ${q(b.name)}: data [${b.fileOffset}, ${b.fileOffset + b.byteLength}) overlaps tensor ${q(a.name)} [${a.fileOffset}, ${a.fileOffset + a.byteLength})`);
    }
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const typed = <T>(key: string, want: string, ok: (v: GGUFValue) => boolean): T | undefined => {
    const v = metadata.get(key);
    if (v === undefined) return undefined;
    if (!ok(v)) throw new GGUFError(`GGUF ${label}: metadata ${q(key)} should be ${want}, got ${valueText(v)}`);
    return v as T;
  };

  return {
    path: label,
    version,
    fileSize: src.size,
    alignment,
    dataOffset,
    metadata,
    metadataTypes,
    tensors,
    tensor: (name) => byName.get(name),
    get: (key) => metadata.get(key),
    string: (key) => typed<string>(key, "a string", (v) => typeof v === "string"),
    number: (key) => typed<number>(key, "a finite number", (v) => typeof v === "number" && Number.isFinite(v)),
    bool: (key) => typed<boolean>(key, "a bool", (v) => typeof v === "boolean"),
    array: (key) => typed<GGUFArray>(key, "an array", (v) => typeof v === "object"),
    readTensorBytes: (t) => src.read(t.fileOffset, t.byteLength),
    close: () => src.close(),
  };
}
