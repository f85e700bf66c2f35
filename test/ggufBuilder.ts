// Writes small GGUF files for tests (valid ones, and deliberately broken ones), and converts f32
// values to the stored types a GGUF can hold (F16, BF16, Q8_0, Q4_0, Q4_1).
import { QTensor, Tensor, quantize } from "../src/index";
import { GGUFValueType as T } from "../src/gguf/types";

export type KV = [key: string, type: number, value: unknown, elemType?: number];
export interface TensorSpec {
  name: string;
  ne: number[];
  type: number;
  data: Uint8Array;
  /** Override the offset written in the tensor info. */
  offset?: bigint;
}

class Bytes {
  parts: Uint8Array[] = [];
  length = 0;
  push(b: Uint8Array) {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.push(b);
  }
  u64(v: number | bigint) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    this.push(b);
  }
  str(s: string) {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.push(b);
  }
  scalar(type: number, v: unknown) {
    const sizes: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
    if (type === T.STRING) return this.str(v as string);
    const b = new Uint8Array(sizes[type]);
    const d = new DataView(b.buffer);
    switch (type) {
      case T.UINT8: case T.BOOL: d.setUint8(0, Number(v)); break;
      case T.INT8: d.setInt8(0, v as number); break;
      case T.UINT16: d.setUint16(0, v as number, true); break;
      case T.INT16: d.setInt16(0, v as number, true); break;
      case T.UINT32: d.setUint32(0, v as number, true); break;
      case T.INT32: d.setInt32(0, v as number, true); break;
      case T.FLOAT32: d.setFloat32(0, v as number, true); break;
      case T.UINT64: d.setBigUint64(0, BigInt(v as number), true); break;
      case T.INT64: d.setBigInt64(0, BigInt(v as number), true); break;
      case T.FLOAT64: d.setFloat64(0, v as number, true); break;
    }
    this.push(b);
  }
  value(type: number, v: unknown, elemType?: number) {
    if (type !== T.ARRAY) return this.scalar(type, v);
    const arr = v as ArrayLike<unknown>;
    this.u32(elemType!);
    this.u64(arr.length);
    for (let i = 0; i < arr.length; i++) this.value(elemType!, arr[i]);
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

export function buildGGUF(opts: { version?: number; kv: KV[]; tensors: TensorSpec[]; alignment?: number }): Uint8Array {
  const align = opts.alignment ?? 32;
  const b = new Bytes();
  b.u32(0x46554747);
  b.u32(opts.version ?? 3);
  b.u64(opts.tensors.length);
  b.u64(opts.kv.length);
  for (const [key, type, value, elemType] of opts.kv) {
    b.str(key);
    b.u32(type);
    b.value(type, value, elemType);
  }
  let off = 0;
  const offsets: number[] = [];
  for (const t of opts.tensors) {
    b.str(t.name);
    b.u32(t.ne.length);
    for (const n of t.ne) b.u64(n);
    b.u32(t.type);
    offsets.push(off);
    b.u64(t.offset ?? BigInt(off));
    off += Math.ceil(t.data.length / align) * align;
  }
  if (opts.tensors.length > 0) b.push(new Uint8Array((align - (b.length % align)) % align));
  opts.tensors.forEach((t, i) => {
    b.push(t.data);
    const next = i + 1 < offsets.length ? offsets[i + 1] : off;
    b.push(new Uint8Array(next - offsets[i] - t.data.length));
  });
  return b.concat();
}

// ---- value conversions ----

export function f32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** f32 -> IEEE half, round to nearest even (normal range; tests use small weights). */
export function toF16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const e = (u >>> 23) & 0xff;
  let m = u & 0x7fffff;
  if (e === 0 && m === 0) return sign;
  let he = e - 127 + 15;
  if (he <= 0) {
    // subnormal half
    const v = Math.abs(x) / 2 ** -24;
    let q = Math.floor(v);
    const r = v - q;
    if (r > 0.5 || (r === 0.5 && q & 1)) q++;
    return sign | q;
  }
  let hm = m >>> 13;
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && hm & 1)) {
    hm++;
    if (hm === 0x400) {
      hm = 0;
      he++;
    }
  }
  if (he >= 31) return sign | 0x7c00;
  return sign | (he << 10) | hm;
}

export function fromF16(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function f16Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(Uint16Array.from(a, toF16).buffer);
}

export function bf16Bytes(a: Float32Array): Uint8Array {
  const u = new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  return new Uint8Array(Uint16Array.from(u, (x) => (x + 0x7fff + ((x >>> 16) & 1)) >>> 16).buffer);
}

export function bf16Value(x: number): number {
  const u = new Uint32Array(new Float32Array([x]).buffer)[0];
  const r = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16;
  return new Float32Array(new Uint32Array([r]).buffer)[0];
}

/** llama.cpp's quantize_row_q8_0_ref: d = amax / 127, q = round(x / d). */
export function q8_0Bytes(a: Float32Array): Uint8Array {
  const nb = a.length / 32;
  const out = new Uint8Array(nb * 34);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(a[b * 32 + i]));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    dv.setUint16(b * 34, toF16(d), true);
    for (let i = 0; i < 32; i++) dv.setInt8(b * 34 + 2 + i, Math.round(a[b * 32 + i] * id));
  }
  return out;
}

export function q4Bytes(a: Float32Array, N: number, K: number, scheme: "symmetric" | "asymmetric"): Uint8Array {
  return quantize(new Tensor(a, [N, K]), { groupSize: 32, scheme }).toGGML();
}

export { QTensor };
