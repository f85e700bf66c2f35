// The GGUF writer: bytes checked by hand for a tiny file and by a minimal independent parser (kept
// in this file; the reader in src/gguf/ can replace it at merge) for every metadata value type and
// every tensor type; alignment padding; encoders (F16, Q8_0 as llama.cpp's reference); the int4
// extension layout; atomic writes that leave an existing file intact when a write fails midway.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { QTensor, Tensor, quantize } from "../src/index";
import {
  GGUF_TENSOR_TYPES, decodeInt4, ggufTensorBytes, int4ExtensionType, encodeF16, encodeInt4, encodeQ8_0, ggufTensorFromFloat, ggufTensorFromQTensor, writeGGUF,
  type GGUFTensorSpec, type GGUFValue,
} from "../src/gguf/writer";
import { f32ToF16, randn } from "./helpers/ggmlRef";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "int4-gguf-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ---- a minimal GGUF parser (independent of the writer) ----
interface Parsed {
  version: number;
  kv: Map<string, { type: number; value: unknown }>;
  tensors: Array<{ name: string; ne: bigint[]; type: number; offset: bigint }>;
  dataStart: number;
}

function parse(buf: Uint8Array): Parsed {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = 0;
  const u32 = () => { const v = dv.getUint32(p, true); p += 4; return v; };
  const u64 = () => { const v = dv.getBigUint64(p, true); p += 8; return v; };
  const str = () => { const n = Number(u64()); const s = Buffer.from(buf.subarray(p, p + n)).toString("utf8"); p += n; return s; };
  const value = (t: number): unknown => {
    switch (t) {
      case 0: return dv.getUint8(p++);
      case 1: return dv.getInt8(p++);
      case 2: { const v = dv.getUint16(p, true); p += 2; return v; }
      case 3: { const v = dv.getInt16(p, true); p += 2; return v; }
      case 4: return u32();
      case 5: { const v = dv.getInt32(p, true); p += 4; return v; }
      case 6: { const v = dv.getFloat32(p, true); p += 4; return v; }
      case 7: { const v = dv.getUint8(p++); if (v > 1) throw new Error("bad bool"); return v === 1; }
      case 8: return str();
      case 9: { const it = u32(); const n = Number(u64()); const out: unknown[] = []; for (let i = 0; i < n; i++) out.push(value(it)); return { itemType: it, items: out }; }
      case 10: return u64();
      case 11: { const v = dv.getBigInt64(p, true); p += 8; return v; }
      case 12: { const v = dv.getFloat64(p, true); p += 8; return v; }
      default: throw new Error(`bad type ${t}`);
    }
  };
  expect(Buffer.from(buf.subarray(0, 4)).toString("latin1")).toBe("GGUF");
  p = 4;
  const version = u32();
  const nt = Number(u64());
  const nkv = Number(u64());
  const kv = new Map<string, { type: number; value: unknown }>();
  for (let i = 0; i < nkv; i++) {
    const key = str();
    const type = u32();
    kv.set(key, { type, value: value(type) });
  }
  const tensors: Parsed["tensors"] = [];
  for (let i = 0; i < nt; i++) {
    const name = str();
    const nd = u32();
    const ne: bigint[] = [];
    for (let d = 0; d < nd; d++) ne.push(u64());
    tensors.push({ name, ne, type: u32(), offset: u64() });
  }
  const align = (kv.get("general.alignment")?.value as number | undefined) ?? 32;
  return { version, kv, tensors, dataStart: Math.ceil(p / align) * align };
}

const read = (f: string) => new Uint8Array(fs.readFileSync(f));
const ggufBits = (K: number, G: 32 | 64 | 128 | 256, scheme: "symmetric" | "asymmetric") => (ggufTensorBytes(int4ExtensionType(G, scheme), [10, K]) * 8) / (10 * K);

describe("GGUF writer: header bytes", () => {
  it("a tiny file, byte by byte", async () => {
    const f = path.join(tmp, "tiny.gguf");
    const size = await writeGGUF(f, { metadata: { a: { type: "u8", value: 7 } }, tensors: [{ name: "t", type: "f32", dims: [2], data: new Uint8Array([0, 0, 128, 63, 0, 0, 0, 64]) }] });
    const le64 = (n: number) => [n, 0, 0, 0, 0, 0, 0, 0];
    const header = [
      0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0, ...le64(1), ...le64(1), // magic, version, tensors, kvs
      ...le64(1), 0x61, 0, 0, 0, 0, 7, // "a": u8 (type 0) 7
      ...le64(1), 0x74, 1, 0, 0, 0, ...le64(2), 0, 0, 0, 0, ...le64(0), // "t": 1 dim, ne 2, F32, offset 0
    ];
    const pad = Math.ceil(header.length / 32) * 32 - header.length;
    const expected = [...header, ...new Array(pad).fill(0), 0, 0, 128, 63, 0, 0, 0, 64, ...new Array(24).fill(0)];
    expect(Array.from(read(f))).toEqual(expected);
    expect(size).toBe(expected.length);
  });
});

describe("GGUF writer: every metadata value type", () => {
  it("writes what a parser reads back", async () => {
    const md: Record<string, GGUFValue> = {
      "general.architecture": { type: "string", value: "llama" },
      "t.u8": { type: "u8", value: 255 },
      "t.i8": { type: "i8", value: -128 },
      "t.u16": { type: "u16", value: 65535 },
      "t.i16": { type: "i16", value: -32768 },
      "t.u32": { type: "u32", value: 4294967295 },
      "t.i32": { type: "i32", value: -2147483648 },
      "t.f32": { type: "f32", value: 1e-5 },
      "t.bool": { type: "bool", value: true },
      "t.bool0": { type: "bool", value: false },
      "t.string": { type: "string", value: "héllo ✓ 🦙" },
      "t.u64": { type: "u64", value: (1n << 64n) - 1n },
      "t.i64": { type: "i64", value: -(1n << 63n) },
      "t.u64n": { type: "u64", value: 123456789012 },
      "t.f64": { type: "f64", value: Math.PI },
      "t.arr.str": { type: "array", itemType: "string", value: ["<unk>", "<s>", "", "▁the"] },
      "t.arr.f32": { type: "array", itemType: "f32", value: new Float32Array([0.5, -1.25, 3]) },
      "t.arr.i32": { type: "array", itemType: "i32", value: [1, -2, 3] },
      "t.arr.u8": { type: "array", itemType: "u8", value: new Uint8Array([1, 2, 255]) },
      "t.arr.bool": { type: "array", itemType: "bool", value: [true, false] },
      "t.arr.empty": { type: "array", itemType: "u32", value: [] },
      "t.arr.nested": { type: "array", itemType: "array", value: [{ type: "array", itemType: "u16", value: [1, 2] }, { type: "array", itemType: "string", value: ["x"] }] },
      "t.arr.i64": { type: "array", itemType: "i64", value: [-1n, 5] },
      "t.arr.f64": { type: "array", itemType: "f64", value: [0.1] },
    };
    const f = path.join(tmp, "meta.gguf");
    await writeGGUF(f, { metadata: md, tensors: [] });
    const g = parse(read(f));
    expect(g.version).toBe(3);
    expect([...g.kv.keys()]).toEqual(Object.keys(md));
    const ids: Record<string, number> = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 };
    for (const [k, v] of Object.entries(md)) {
      const got = g.kv.get(k)!;
      expect(got.type).toBe(ids[v.type]);
      if (v.type === "array") continue;
      if (v.type === "f32") expect(got.value).toBe(Math.fround(v.value));
      else if (v.type === "u64" || v.type === "i64") expect(got.value).toBe(BigInt(v.value));
      else expect(got.value).toBe(v.value);
    }
    expect(g.kv.get("t.arr.str")!.value).toEqual({ itemType: 8, items: ["<unk>", "<s>", "", "▁the"] });
    expect(g.kv.get("t.arr.f32")!.value).toEqual({ itemType: 6, items: [0.5, -1.25, 3] });
    expect(g.kv.get("t.arr.i32")!.value).toEqual({ itemType: 5, items: [1, -2, 3] });
    expect(g.kv.get("t.arr.u8")!.value).toEqual({ itemType: 0, items: [1, 2, 255] });
    expect(g.kv.get("t.arr.bool")!.value).toEqual({ itemType: 7, items: [true, false] });
    expect(g.kv.get("t.arr.empty")!.value).toEqual({ itemType: 4, items: [] });
    expect(g.kv.get("t.arr.nested")!.value).toEqual({ itemType: 9, items: [{ itemType: 2, items: [1, 2] }, { itemType: 8, items: ["x"] }] });
    expect(g.kv.get("t.arr.i64")!.value).toEqual({ itemType: 11, items: [-1n, 5n] });
    expect(g.kv.get("t.arr.f64")!.value).toEqual({ itemType: 12, items: [0.1] });
    expect(g.tensors).toEqual([]);
  });

  it("rejects values that do not fit their type, duplicate keys, unknown types", async () => {
    const f = path.join(tmp, "bad.gguf");
    const w = (metadata: unknown) => writeGGUF(f, { metadata, tensors: [] } as never);
    await expect(w({ a: { type: "u8", value: 256 } })).rejects.toThrow(/metadata "a": expected an integer in \[0, 255\] \(u8\), got number 256/);
    await expect(w({ a: { type: "i32", value: 1.5 } })).rejects.toThrow(RangeError);
    await expect(w({ a: { type: "u32", value: "7" } })).rejects.toThrow(TypeError);
    await expect(w({ a: { type: "u64", value: -1n } })).rejects.toThrow(RangeError);
    await expect(w({ a: { type: "u64", value: 2 ** 60 } })).rejects.toThrow(/safe integer/);
    await expect(w({ a: { type: "bool", value: 1 } })).rejects.toThrow(TypeError);
    await expect(w({ a: { type: "float", value: 1 } })).rejects.toThrow(/metadata "a".type: expected a GGUF value type .*got "float"/);
    await expect(w({ a: { type: "array", itemType: "u8", value: [1, 300] } })).rejects.toThrow(/metadata "a"\[1\]/);
    await expect(w([["a", { type: "u8", value: 1 }], ["a", { type: "u8", value: 2 }]])).rejects.toThrow(/unique keys, got "a" twice/);
    await expect(w({ "general.alignment": { type: "u32", value: 48 } })).rejects.toThrow(/general.alignment: expected a u32 power of two, got 48/);
    await expect(w({ "general.alignment": { type: "i32", value: 64 } })).rejects.toThrow(RangeError);
    expect(fs.existsSync(f)).toBe(false);
  });
});

describe("GGUF writer: tensors", () => {
  const f32 = (n: number, seed: number, scale = 0.1) => randn(n, seed, scale);
  const bytesOf = async (s: GGUFTensorSpec) => (typeof s.data === "function" ? await s.data() : s.data);

  for (const alignment of [32, 64]) {
    it(`every tensor type, alignment ${alignment}: infos, offsets, data, zero padding`, async () => {
      const wq = new Tensor(f32(4 * 64, 1), [4, 64]);
      const w172 = new Tensor(f32(3 * 172, 2), [3, 172]);
      const w300 = new Tensor(f32(2 * 300, 3), [2, 300]);
      const specs: GGUFTensorSpec[] = [
        ggufTensorFromFloat("norm.weight", new Tensor(f32(5, 4), [5]), "f32"),
        ggufTensorFromFloat("f32.2d", new Tensor(f32(3 * 5, 5), [3, 5]), "f32"),
        ggufTensorFromFloat("emb.f16", new Tensor(f32(2 * 7, 6), [2, 7]), "f16"),
        ggufTensorFromFloat("output.weight", new Tensor(f32(2 * 64, 7), [2, 64]), "q8_0"),
        ggufTensorFromQTensor("q4_0", quantize(wq)),
        ggufTensorFromQTensor("q4_1", quantize(wq, { scheme: "asymmetric" })),
        ggufTensorFromQTensor("ext.g32.172", quantize(w172)),
        ggufTensorFromQTensor("ext.g64.172", quantize(w172, { groupSize: 64 })),
        ggufTensorFromQTensor("ext.g128.asym", quantize(w300, { groupSize: 128, scheme: "asymmetric" })),
        ggufTensorFromQTensor("ext.g256.asym", quantize(w300, { groupSize: 256, scheme: "asymmetric" })),
        { name: "three.d", type: "f32", dims: [2, 1, 3], data: new Uint8Array(24).fill(1) },
      ];
      const expectTypes = ["f32", "f32", "f16", "q8_0", "q4_0", "q4_1", "q4_g32_sym", "q4_g64_sym", "q4_g128_asym", "q4_g256_asym", "f32"];
      expect(specs.map((s) => s.type)).toEqual(expectTypes);
      const f = path.join(tmp, `tensors${alignment}.gguf`);
      const metadata: Record<string, GGUFValue> = { "general.architecture": { type: "string", value: "llama" } };
      if (alignment !== 32) metadata["general.alignment"] = { type: "u32", value: alignment };
      const size = await writeGGUF(f, { metadata, tensors: specs });
      const buf = read(f);
      expect(buf.length).toBe(size);
      const g = parse(buf);
      expect(g.dataStart % alignment).toBe(0);
      // header padding is zero
      let end = g.dataStart;
      for (const [i, t] of g.tensors.entries()) {
        const s = specs[i];
        expect(t.name).toBe(s.name);
        expect(t.ne).toEqual([...s.dims].reverse().map(BigInt));
        expect(t.type).toBe(GGUF_TENSOR_TYPES[s.type]);
        expect(Number(t.offset) % alignment).toBe(0);
        const data = await bytesOf(s);
        const at = g.dataStart + Number(t.offset);
        expect(at).toBeGreaterThanOrEqual(end);
        for (let b = end; b < at; b++) expect(buf[b]).toBe(0); // padding between tensors
        expect(Buffer.from(buf.subarray(at, at + data.length)).equals(Buffer.from(data))).toBe(true);
        end = at + data.length;
      }
      for (let b = end; b < buf.length; b++) expect(buf[b]).toBe(0);
      expect(buf.length % alignment).toBe(0);
      expect(buf.length - end).toBeLessThan(alignment);
    });
  }

  it("rejects bad tensor specs before touching the file", async () => {
    const f = path.join(tmp, "badt.gguf");
    fs.writeFileSync(f, "old");
    const w = (tensors: unknown[]) => writeGGUF(f, { metadata: {}, tensors } as never);
    const d = new Uint8Array(18);
    await expect(w([{ name: "a", type: "q4_0", dims: [1, 20], data: d }])).rejects.toThrow(/multiple of 32 for q4_0/);
    await expect(w([{ name: "a", type: "q4_0", dims: [1, 32], data: new Uint8Array(17) }])).rejects.toThrow(/expected 18 bytes for q4_0 \[1, 32\], got 17 bytes/);
    await expect(w([{ name: "a", type: "q9_0", dims: [1, 32], data: d }])).rejects.toThrow(/type: expected one of f32, f16/);
    await expect(w([{ name: "a", type: "q4_0", dims: [1, 32], data: d }, { name: "a", type: "q4_0", dims: [1, 32], data: d }])).rejects.toThrow(/unique tensor names/);
    await expect(w([{ name: "x".repeat(64), type: "f32", dims: [1], data: new Uint8Array(4) }])).rejects.toThrow(/at most 63 bytes/);
    await expect(w([{ name: "a", type: "f32", dims: [1, 1, 1, 1, 1], data: new Uint8Array(4) }])).rejects.toThrow(/at most 4 dimensions/);
    await expect(w([{ name: "a", type: "f32", dims: [0], data: new Uint8Array(0) }])).rejects.toThrow(RangeError);
    await expect(w([{ name: "a", type: "f32", dims: [1], data: [0, 0, 0, 0] }])).rejects.toThrow(TypeError);
    expect(fs.readFileSync(f, "utf8")).toBe("old");
  });
});

describe("GGUF writer: atomic writes", () => {
  const spec = (name: string, data: GGUFTensorSpec["data"]): GGUFTensorSpec => ({ name, type: "f32", dims: [4], data });
  const leftovers = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith(".tmp"));

  it("a data function throwing midway leaves the old file intact and no temporary file", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "atomic-"));
    const f = path.join(dir, "model.gguf");
    fs.writeFileSync(f, "the old model");
    let calls = 0;
    const boom = new Error("disk on fire");
    const tensors = [
      spec("a", () => { calls++; return new Uint8Array(16); }),
      spec("b", async () => { calls++; await new Promise((r) => setTimeout(r, 5)); throw boom; }),
      spec("c", () => { calls++; return new Uint8Array(16); }),
    ];
    await expect(writeGGUF(f, { metadata: {}, tensors })).rejects.toBe(boom);
    expect(calls).toBe(2); // the first tensor was written to the temporary file before the failure
    expect(fs.readFileSync(f, "utf8")).toBe("the old model");
    expect(leftovers(dir)).toEqual([]);
  });

  it("a wrong byte count from a data function fails the same way; with no old file, none appears", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "atomic-"));
    const f = path.join(dir, "new.gguf");
    await expect(writeGGUF(f, { metadata: {}, tensors: [spec("a", () => new Uint8Array(16)), spec("b", () => new Uint8Array(15))] }))
      .rejects.toThrow(/tensor "b" data: expected 16 bytes for f32 \[4\], got 15 bytes/);
    expect(fs.existsSync(f)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
    // and a good write replaces the file
    await writeGGUF(f, { metadata: {}, tensors: [spec("a", new Uint8Array(16))] });
    expect(parse(read(f)).tensors.map((t) => t.name)).toEqual(["a"]);
    expect(leftovers(dir)).toEqual([]);
  });
});

describe("encoders", () => {
  it("F16: round to nearest even, as the reference", () => {
    const x = Float32Array.from([0, -0, 1, 65504, 65520, 1e-8, 6.1e-5, 0.1, -3.14159, 2 ** -24, 3 * 2 ** -26]);
    const b = encodeF16(x);
    for (let i = 0; i < x.length; i++) expect(b[2 * i] | (b[2 * i + 1] << 8)).toBe(f32ToF16(x[i]));
  });

  it("Q8_0: llama.cpp's quantize_row_q8_0_ref, roundf halves away from zero", () => {
    // amax 127 gives d = 1 exactly: 2.5 -> 3 and -2.5 -> -3 (roundf), not 2 / -2 (nearest even)
    const x = new Float32Array(64);
    x[0] = 127; x[1] = 2.5; x[2] = -2.5; x[3] = 0.49999997; x[4] = -126.5;
    x.set(randn(32, 3, 0.02), 32);
    const b = encodeQ8_0(x);
    expect(b.length).toBe(68);
    const dv = new DataView(b.buffer);
    expect(dv.getUint16(0, true)).toBe(f32ToF16(1));
    expect([0, 1, 2, 3, 4].map((j) => dv.getInt8(2 + j))).toEqual([127, 3, -3, 0, -127]);
    // an independent model of the reference (float32 via Math.fround) for the random block
    const f = Math.fround;
    let amax = 0;
    for (let j = 32; j < 64; j++) amax = Math.max(amax, Math.abs(x[j]));
    const d = f(amax / 127);
    const id = f(1 / d);
    expect(dv.getUint16(34, true)).toBe(f32ToF16(d));
    for (let j = 0; j < 32; j++) {
      const v = f(x[32 + j] * id);
      const r = Math.abs(v) % 1 === 0.5 ? Math.sign(v) * Math.ceil(Math.abs(v)) : Math.round(v);
      expect(dv.getInt8(36 + j)).toBe(r);
    }
    // all zeros: d = 0 and codes 0
    expect(Array.from(encodeQ8_0(new Float32Array(32)))).toEqual(new Array(34).fill(0));
    expect(() => encodeQ8_0(new Float32Array(33))).toThrow(/multiple of 32/);
  });

  it("int4 extension layout: round trip for every group size and scheme; group 32 is Q4_0 / Q4_1 byte for byte", () => {
    for (const scheme of ["symmetric", "asymmetric"] as const) {
      for (const groupSize of [32, 64, 128, 256] as const) {
        for (const K of [20, 64, 172, 300]) {
          const q = quantize(new Tensor(randn(3 * K, K + groupSize, 0.2), [3, K]), { groupSize, scheme });
          const bytes = encodeInt4(q);
          const rowBytes = Math.ceil(K / groupSize) * (scheme === "symmetric" ? 2 : 4) + Math.ceil(K / 2);
          expect(bytes.length).toBe(3 * rowBytes);
          const back = decodeInt4(GGUF_TENSOR_TYPES[int4ExtensionType(groupSize, scheme)], bytes, [3, K]);
          expect(Buffer.from(back.codes).equals(Buffer.from(q.codes))).toBe(true);
          expect(Array.from(back.scales)).toEqual(Array.from(q.scales));
          expect(back.offsets ? Array.from(back.offsets) : null).toEqual(q.offsets ? Array.from(q.offsets) : null);
          if (groupSize === 32 && K % 32 === 0) expect(Buffer.from(bytes).equals(Buffer.from(q.toGGML()))).toBe(true);
        }
      }
    }
    // hand-checked layout: one row, K = 64, group 64, symmetric: fp16 d, then two chunks
    const q = new QTensor({ dims: [1, 64], groupSize: 64, scheme: "symmetric", codes: Uint8Array.from({ length: 32 }, (_, i) => i), scales: new Uint16Array([0x3c00]) });
    expect(Array.from(encodeInt4(q))).toEqual([0x00, 0x3c, ...Array.from({ length: 32 }, (_, i) => i)]);
    // a partial last chunk is packed: K = 37, group 64, symmetric: d, one full chunk, then 5 codes in 3 bytes
    const codes37 = new Uint8Array(32);
    for (let i = 0; i < 16; i++) codes37[i] = (i & 15) | (((i + 16) & 15) << 4); // weight k has code k & 15
    codes37[16] = 0x0 | (0x8 << 4); // weights 32..36: codes 0, 1, 2, 3, 4 in the padded chunk (low nibbles)
    codes37.set([0x81, 0x82, 0x83, 0x84], 17);
    codes37.fill(0x88, 21);
    const q37 = new QTensor({ dims: [1, 37], groupSize: 64, scheme: "symmetric", codes: codes37, scales: new Uint16Array([0x3c00]) });
    const b37 = encodeInt4(q37);
    // half = 3: byte 0 = w32 | w35 << 4, byte 1 = w33 | w36 << 4, byte 2 = w34 | pad 8 << 4
    expect(Array.from(b37)).toEqual([0x00, 0x3c, ...Array.from(codes37.subarray(0, 16)), 0x30, 0x41, 0x82]);
    expect(Buffer.from(decodeInt4(1064, b37, [1, 37]).codes).equals(Buffer.from(codes37))).toBe(true);
    // 172-wide rows (stories260K's ffn_down) at group 64 and 128 stay under 4.5 bits per weight
    expect((ggufBits(172, 64, "symmetric"))).toBeCloseTo((92 * 8) / 172, 10);
    expect(ggufBits(172, 64, "symmetric")).toBeLessThan(4.5);
    expect(ggufBits(172, 128, "asymmetric")).toBeLessThan(4.5);
    expect(() => decodeInt4(8, new Uint8Array(34), [1, 64])).toThrow(/int4 extension type id/);
    expect(() => decodeInt4(1064, new Uint8Array(33), [1, 64])).toThrow(/expected 34 bytes/);
  });

  it("extension type ids are far outside llama.cpp's ggml types (GGML_TYPE_COUNT is 43; forks use 100-150)", () => {
    for (const [name, id] of Object.entries(GGUF_TENSOR_TYPES)) {
      if (name.startsWith("q4_g")) expect(id).toBeGreaterThan(1000);
      else expect(id).toBeLessThan(43);
    }
  });

  it("the extension types are spelled as the formats (q4_g64_sym); the older int4_g64_sym is still accepted", async () => {
    expect(int4ExtensionType(64, "symmetric")).toBe("q4_g64_sym");
    const q = quantize(new Tensor(randn(2 * 64, 7, 0.2), [2, 64]), { groupSize: 64 });
    const f = path.join(tmp, "old-type-name.gguf");
    await writeGGUF(f, { metadata: {}, tensors: [{ name: "w", type: "int4_g64_sym" as never, dims: [2, 64], data: encodeInt4(q) }] });
    const g = parse(read(f));
    expect(g.tensors[0].type).toBe(GGUF_TENSOR_TYPES.q4_g64_sym);
    await expect(writeGGUF(f, { metadata: {}, tensors: [{ name: "w", type: "int4_g64" as never, dims: [2, 64], data: encodeInt4(q) }] })).rejects.toThrow(/type/);
  });
});
